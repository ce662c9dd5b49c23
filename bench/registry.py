"""Benchmark: registry pages, a 3-filter advanced search and the CSV export at 1,000,000 people (PostgreSQL).

    .venv/bin/python bench/registry.py [--households 222000] [--seed 1] [--runs 7] [--fresh] [--only-export]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_registry): created and
migrated when missing, filled with `manage.py generate_demo_data` up to --households (kept between runs unless
--fresh drops it). Server time is the median of --runs requests through Django's test Client, in process.
Baselines in the same run: the same search done the naive way (age computed per row, a full COUNT(*) for
the paginator): `baseline_search3_ms` is that database work, to compare with `search3_db_ms` (ours);
`baseline_full_count_ms` is the COUNT(*) a counting paginator pays on every page. Page `*_ms` are whole
requests (database, Python, templates); `full_counts_*` are unbounded COUNTs on the big tables (0 expected).
Export (CSV to a temporary file): every row for the administrator (`export_all_rows_per_s`, also
`export_rows_per_s`), then one region's rows for an officer scoped to it (`export_scoped_rows_per_s`); the
time ratio scoped/all beside the data ratio says whether the scoped export costs its share
(`export_time_ratio` ≈ `export_data_ratio`); baseline: the same scoped export walking every id in order and
filtering by the scope (`baseline_export_scoped_*`, as before issue 24); `*_db_s` and `*_people_read` are
the chunk queries alone and the people rows PostgreSQL read for them. --only-export skips the pages.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from urllib.parse import urlencode

from benchdb import bench_environment, database_prepare, peak_rss_mb

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=222_000, help="about 4.5 individuals each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop the database and generate again")
    parser.add_argument("--only-export", action="store_true", help="the export figures alone")
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=options.fresh)

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)

    from portal.models import UserProfile
    from portal.roles import REGISTRY_OFFICER
    from registry.models import Household, Individual, Location

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
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    officer, created = User.objects.get_or_create(username="bench-officer", defaults={"is_staff": True})
    if created:
        officer.groups.set(Group.objects.filter(name=REGISTRY_OFFICER))
        UserProfile.objects.get_or_create(user=officer)[0].locations.set([region])
    household = (
        Household.objects.filter(location__path__startswith=region.path, size__gte=4).order_by("pk").first()
    )

    admin_client, officer_client = Client(), Client()
    admin_client.force_login(admin)
    officer_client.force_login(officer)
    figures: dict[str, object] = {"individuals": individuals}

    if not options.only_export:
        page_figures(figures, options.runs, admin_client, officer_client, household, region, officer, admin)
    export_figures(figures, admin, officer)
    figures["peak_rss_mb"] = peak_rss_mb()

    for key, value in figures.items():
        print(f"{key:>32}: {value}")
    print(json.dumps(figures))


def page_figures(  # type: ignore[no-untyped-def]
    figures, runs, admin_client, officer_client, household, region, officer, admin
) -> None:
    """Registry pages and searches: whole requests, then the database work ours beside the naive way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registry.models import Individual

    search3 = {"sex": "F", "age_min": "18", "age_max": "59", "location": region.pk}
    search3_url = "/admin/registry/search/individuals/?" + urlencode(search3)
    figures["list_ms"] = median_ms(get_ok(admin_client, "/admin/registry/individual/"), runs)
    figures["list_scoped_ms"] = median_ms(get_ok(officer_client, "/admin/registry/individual/"), runs)
    figures["household_ms"] = median_ms(
        get_ok(officer_client, f"/admin/registry/household/{household.pk}/change/"), runs
    )
    figures["search3_ms"] = median_ms(get_ok(officer_client, search3_url), runs)
    figures["search3_admin_ms"] = median_ms(get_ok(admin_client, search3_url), runs)
    search_custom = {"location": region.pk, "cf_disability": "true", "household_size_min": "5"}
    figures["search3_custom_ms"] = median_ms(
        get_ok(officer_client, "/admin/registry/search/individuals/?" + urlencode(search_custom)),
        runs,
    )
    figures["search_sorted_name_ms"] = median_ms(
        get_ok(officer_client, search3_url + "&sort=family_name"), runs
    )
    figures["search_sorted_location_admin_ms"] = median_ms(
        get_ok(admin_client, "/admin/registry/search/individuals/?sort=location"), runs
    )
    households = {"location": region.pk, "size_min": "5", "cf_has_electricity": "false"}
    figures["search_households_ms"] = median_ms(
        get_ok(officer_client, "/admin/registry/search/households/?" + urlencode(households)), runs
    )

    def full_counts_in(client, url: str) -> int:  # type: ignore[no-untyped-def]
        """COUNTs over the big tables that are not bounded by a LIMIT."""
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return sum(
            1
            for q in captured.captured_queries
            if "COUNT(" in q["sql"].upper()
            and "LIMIT" not in q["sql"].upper()
            and ("registry_individual" in q["sql"] or 'registry_household"' in q["sql"])
        )

    figures["full_counts_list"] = full_counts_in(officer_client, "/admin/registry/individual/")
    figures["full_counts_search3"] = full_counts_in(officer_client, search3_url)

    # Database work alone, ours beside the naive way: age per row and a paginator that counts every match.
    figures["search3_db_ms"] = median_ms(lambda: our_search_queries(officer, search3), runs)
    figures["baseline_search3_ms"] = median_ms(lambda: naive_search(officer, region), max(3, runs // 2))
    figures["search3_db_admin_ms"] = median_ms(lambda: our_search_queries(admin, search3), runs)
    figures["baseline_search3_admin_ms"] = median_ms(lambda: naive_search(admin, region), max(3, runs // 2))
    figures["baseline_full_count_ms"] = median_ms(
        lambda: Individual.objects.count(), 3
    )  # what a counting paginator pays


def export_figures(figures: dict[str, object], admin, officer) -> None:  # type: ignore[no-untyped-def]
    """The CSV export of every row (administrator) and of one region (its officer), and the old walk."""
    from unittest import mock

    from registry import exports
    from registry.exports import export_chunks, export_headers, write_csv
    from registry.filters import individual_filterset

    def export(filterset) -> tuple[int, float]:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+", encoding="utf-8") as target:
            rows = write_csv(target, headers, export_chunks("individual", filterset.qs, filterset.schema))
        return rows, time.perf_counter() - started

    everything = individual_filterset({}, user=admin)
    headers = export_headers("individual", everything.schema)
    rss_before = peak_rss_mb()
    rows, seconds = export(everything)
    figures["export_rows"] = rows
    figures["export_rows_per_s"] = figures["export_all_rows_per_s"] = round(rows / seconds)
    figures["export_all_s"] = round(seconds, 2)
    figures["export_peak_rss_growth_mb"] = round(peak_rss_mb() - rss_before, 1)
    scoped = individual_filterset({}, user=officer)
    scoped_rows, scoped_s = export(scoped)
    figures["export_scoped_rows"] = scoped_rows
    figures["export_scoped_rows_per_s"] = round(scoped_rows / scoped_s)
    figures["export_scoped_s"] = round(scoped_s, 2)
    figures["export_data_ratio"] = round(scoped_rows / rows, 4)
    figures["export_time_ratio"] = round(scoped_s / seconds, 4)
    # Before: the scoped export walked every id in order, the scope a filter on each row read.
    with mock.patch.object(exports, "location_subtrees_q", return_value=None):
        baseline_rows, baseline_s = export(individual_filterset({}, user=officer))
    assert baseline_rows == scoped_rows, (baseline_rows, scoped_rows)
    # The database's share alone: the chunk queries, and the people rows PostgreSQL read to answer them.
    figures["export_scoped_db_s"], figures["export_scoped_people_read"] = database_walk(scoped.qs)
    with mock.patch.object(exports, "location_subtrees_q", return_value=None):
        walked = database_walk(individual_filterset({}, user=officer).qs)
    figures["baseline_export_scoped_db_s"], figures["baseline_export_scoped_people_read"] = walked
    figures["baseline_export_scoped_rows_per_s"] = round(baseline_rows / baseline_s)
    figures["baseline_export_scoped_s"] = round(baseline_s, 2)
    figures["baseline_export_time_ratio"] = round(baseline_s / seconds, 4)


def database_walk(queryset) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds of the export's chunk queries alone, and the rows of registry_individual they read (the
    statistics of the one transaction they run in)."""
    from django.db import connection, transaction

    from registry import exports

    lookups = [lookup for _, lookup in exports.INDIVIDUAL_FIELDS] + ["data", "location_id"]
    with transaction.atomic():
        started = time.perf_counter()
        for _page in exports.export_pages(queryset, lookups):
            pass
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
                "WHERE relname = 'registry_individual'"
            )
            read = cursor.fetchone()[0]
    return round(seconds, 2), read


def our_search_queries(user, params: dict[str, object]) -> int:  # type: ignore[no-untyped-def]
    """The database work of one search page: 26 rows (is there a next page?) and their households."""
    from django.http import QueryDict

    from registry.filters import individual_filterset
    from registry.tables import individual_rows

    filterset = individual_filterset(QueryDict(urlencode(params)), user=user)
    assert filterset.is_valid(), filterset.errors
    return len(list(individual_rows(filterset.qs.order_by("pk"))[:26]))


def naive_search(user, region) -> int:  # type: ignore[no-untyped-def]
    """The same three filters the naive way: age computed for every row, then a paginator that counts all."""
    from django.core.paginator import Paginator
    from django.db.models import F, IntegerField, Q
    from django.db.models.functions import Cast, ExtractYear, Now

    from registry.selectors import individual_list

    queryset = (
        individual_list(user=user)
        .annotate(age_years=Cast(ExtractYear(Now()) - ExtractYear(F("birth_date")), IntegerField()))
        .filter(
            Q(sex="F"), Q(age_years__gte=18, age_years__lte=59), Q(location__path__startswith=region.path)
        )
        .order_by("pk")
    )
    paginator = Paginator(queryset, 25)
    page = paginator.page(1)
    return paginator.count + len(list(page.object_list))


if __name__ == "__main__":
    main()
