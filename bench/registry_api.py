"""Benchmark: the registry API's list endpoints at 1,000,000 people (PostgreSQL); goal: each under 500 ms.

    .venv/bin/python bench/registry_api.py [--households 222000] [--seed 1] [--runs 7] [--fresh]

Uses the registry bench's database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_registry):
created and migrated when missing, filled with `manage.py generate_demo_data` up to --households (kept between
runs unless --fresh). A read client scoped to the first region calls, through Django's test Client in process,
each list: a first page, the fifth page by cursor, modified-since, name prefix, identity number exact and by
prefix, location, a custom field, and the households' list; `*_ms` is the median of --runs whole requests
(key check, rate count, queries, JSON, the call-trail row). Baseline in the same run: the same first page
paged the naive way (OFFSET 50,000 and a full COUNT(*)), `baseline_offset_count_ms`, which keyset pages avoid.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchdb import bench_environment, database_prepare, peak_rss_mb, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_registry"
GOAL_MS = 500


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: connections, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=222_000, help="about 4.5 individuals each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop the database and generate again")
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=options.fresh)

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)

    from registry.api_clients import ApiAccess, RegistryApiClient, registry_api_client_key_rotate
    from registry.models import Household, IdentityDocument, Individual, Location
    from registry.schemas import schema_for

    have = Individual.objects.count()
    target = int(options.households * 4.5)
    if have < target * 0.95:
        print(
            f"Registry holds {have:,} individuals; generating {options.households:,} households...",
            flush=True,
        )
        started = time.monotonic()
        call_command("generate_demo_data", households=options.households, seed=options.seed)
        print(f"generated in {time.monotonic() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    individuals = Individual.objects.count()
    print(f"{individuals:,} individuals, {Household.objects.count():,} households", flush=True)

    region = Location.objects.filter(depth=0).order_by("pk").first()
    district = Location.objects.filter(path__startswith=region.path, depth__gt=0).order_by("pk").first()
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client, _ = RegistryApiClient.objects.get_or_create(
        name="bench-registry-api", defaults={"access": ApiAccess.READ, "rate_per_minute": 1_000_000}
    )
    client.locations.set([region])
    key = registry_api_client_key_rotate(user=admin, client=client)
    document = IdentityDocument.objects.filter(individual__location__path__startswith=region.path).first()
    person = Individual.objects.filter(location__path__startswith=region.path).order_by("pk").first()
    properties = schema_for("individual").get("properties") or {}
    custom = next(
        (
            f"{name}=true"
            for name, prop in properties.items()
            if isinstance(prop, dict) and prop.get("type") == "boolean"
        ),
        None,
    )

    http = Client()

    def get(path: str, **query: Any) -> Callable[[], object]:
        def fetch() -> object:
            answer = http.get(f"/api/registry/{path}", query, HTTP_X_API_KEY=key)
            if answer.status_code != 200:
                raise SystemExit(
                    f"GET {path} {query} answered {answer.status_code}: {answer.content[:300]!r}"
                )
            return answer

        return fetch

    cursor_value = None
    for _ in range(4):
        page = get("individuals", **({"cursor": cursor_value} if cursor_value else {}))().json()  # type: ignore[attr-defined]
        cursor_value = page["next_cursor"]

    figures: dict[str, object] = {"individuals": individuals, "goal_ms": GOAL_MS}
    runs = options.runs
    figures["first_page_ms"] = median_ms(get("individuals"), runs)
    figures["fifth_page_ms"] = median_ms(get("individuals", cursor=cursor_value), runs)
    figures["modified_since_ms"] = median_ms(get("individuals", modified_since="2000-01-01T00:00:00Z"), runs)
    figures["name_prefix_ms"] = median_ms(get("individuals", name_prefix=person.family_name[:3]), runs)
    figures["identity_number_ms"] = median_ms(get("individuals", identity_number=document.value), runs)
    figures["identity_prefix_ms"] = median_ms(
        get("individuals", identity_number_prefix=document.value[:-2]), runs
    )
    figures["location_ms"] = median_ms(get("individuals", location=district.code), runs)
    if custom:
        figures["custom_field_ms"] = median_ms(get("individuals", field=custom), runs)
    figures["households_ms"] = median_ms(get("households"), runs)
    figures["households_modified_since_ms"] = median_ms(
        get("households", modified_since="2000-01-01T00:00:00Z"), runs
    )

    def naive() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM registry_individual i JOIN registry_location l ON l.id = i.location_id "
                "WHERE l.path LIKE %s",
                [region.path + "%"],
            )
            cursor.execute(
                "SELECT i.id FROM registry_individual i JOIN registry_location l ON l.id = i.location_id "
                "WHERE l.path LIKE %s ORDER BY i.id LIMIT 50 OFFSET 50000",
                [region.path + "%"],
            )
            cursor.fetchall()

    figures["baseline_offset_count_ms"] = median_ms(naive, runs)
    timed = [
        value
        for name, value in figures.items()
        if name.endswith("_ms") and not name.startswith(("goal", "baseline"))
    ]
    figures["slowest_ms"] = max(timed)  # type: ignore[type-var]
    figures["under_goal"] = figures["slowest_ms"] < GOAL_MS  # type: ignore[operator]
    figures["peak_rss_mb"] = peak_rss_mb()
    figures.update(server_context())
    for name, value in figures.items():
        print(f"{name:>30}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
