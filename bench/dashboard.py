"""Benchmark: the dashboard at 1,000,000 people, from summary tables vs counting live (PostgreSQL).

    .venv/bin/python bench/dashboard.py [--runs 5]

Uses the registry benchmark's database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/h_bench_registry, filled by bench/registry.py), migrated first.
Ours: `summaries_refresh()` once (timed), then the server time of GET /admin/ through Django's test
Client, median of --runs, for a superuser and for an officer scoped to one region, plain and filtered
(a region, the last 12 months); the registry rollup is cached until the next refresh, so
`dashboard_uncached_ms` is the first view after a refresh. Baseline in the same run: the same figures
counted live on the big tables on every page view (counts and the GROUP BYs of the charts), as a
dashboard without summary tables does. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_registry"


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: connections, templates, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def get_ok(client, url: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    def fetch() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        return response

    return fetch


def live_counts() -> dict[str, object]:
    """The baseline: what the dashboard shows, counted on the big tables."""
    from django.db.models import Count
    from django.db.models.functions import Substr, TruncMonth
    from django.utils import timezone

    from portal.summaries import _age_band_expression
    from programs.models import Beneficiary
    from registry.models import Household, Individual

    return {
        "people": Individual.objects.count(),
        "households": Household.objects.count(),
        "by_status": list(Beneficiary.objects.values("status").annotate(n=Count("pk")).order_by()),
        "by_month": list(
            Individual.objects.annotate(month=TruncMonth("registration_date"))
            .values("month")
            .annotate(n=Count("pk"))
            .order_by()
        ),
        "pyramid": list(
            Individual.objects.annotate(band=_age_band_expression(timezone.localdate()))
            .values("sex", "band")
            .annotate(n=Count("pk"))
            .order_by()
        ),
        "coverage": list(
            Individual.objects.annotate(area=Substr("location__path", 1, 9))
            .values("area")
            .annotate(n=Count("pk"))
            .order_by()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)

    from portal.models import BeneficiarySummary, RegistrySummary, UserProfile
    from portal.roles import PROGRAMME_OFFICER, REGISTRY_OFFICER
    from portal.summaries import summaries_refresh
    from registry.models import Household, Individual, Location

    individuals = Individual.objects.count()
    if individuals < 100_000:
        raise SystemExit(f"{url} holds {individuals:,} individuals: fill it with bench/registry.py first")
    print(f"{individuals:,} individuals, {Household.objects.count():,} households", flush=True)

    started = time.perf_counter()
    summaries_refresh()
    refresh_s = round(time.perf_counter() - started, 2)
    summary_rows = RegistrySummary.objects.count() + BeneficiarySummary.objects.count()
    print(f"summaries refreshed in {refresh_s} s: {summary_rows:,} summary rows", flush=True)

    region = Location.objects.filter(depth=0).order_by("pk").first()
    admin, _ = User.objects.get_or_create(
        username="bench-dashboard-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    officer, created = User.objects.get_or_create(
        username="bench-dashboard-officer", defaults={"is_staff": True}
    )
    if created:
        officer.groups.set(Group.objects.filter(name__in=(REGISTRY_OFFICER, PROGRAMME_OFFICER)))
        UserProfile.objects.get_or_create(user=officer)[0].locations.set([region])
    admin_client, officer_client = Client(), Client()
    admin_client.force_login(admin)
    officer_client.force_login(officer)

    figures: dict[str, object] = {
        "individuals": individuals,
        "summary_rows": summary_rows,
        "refresh_s": refresh_s,
    }
    from django.core.cache import cache

    get_ok(admin_client, "/admin/")()  # warm the process (imports, templates, connections)...
    cache.clear()  # ...but not the cached rollup
    started = time.perf_counter()
    get_ok(admin_client, "/admin/")()
    figures["dashboard_uncached_ms"] = round((time.perf_counter() - started) * 1000, 1)
    figures["dashboard_ms"] = median_ms(get_ok(admin_client, "/admin/"), options.runs)
    figures["dashboard_scoped_ms"] = median_ms(get_ok(officer_client, "/admin/"), options.runs)
    filtered = f"/admin/?location={region.pk}&period=12"
    figures["dashboard_filtered_ms"] = median_ms(get_ok(admin_client, filtered), options.runs)
    figures["baseline_live_counts_ms"] = median_ms(live_counts, options.runs)
    figures["speedup"] = round(figures["baseline_live_counts_ms"] / figures["dashboard_ms"], 1)  # type: ignore[operator]
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
