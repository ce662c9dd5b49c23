"""Benchmark: the dashboard at 1,000,000 people, from summary tables vs counting live (PostgreSQL).

    .venv/bin/python bench/dashboard.py [--runs 5]

Uses the registry benchmark's database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/h_bench_registry, filled by bench/registry.py), migrated first. When it
holds no beneficiaries yet, every individual is enrolled in one plan (statuses spread by id) and two payment
cycles are paid to the active ones (one reconciled: 90% paid, 6% failed, 4% pending; one sent: half paid),
all set-based (INSERT ... SELECT); they stay for the next runs.
Ours: `summaries_refresh()` once (timed), then the server time of GET /admin/ through Django's test
Client, median of --runs, for a superuser and for an officer scoped to one region, plain and filtered
(a region, the last 12 months). The registry rollup is cached until the next refresh, so each view is also
timed first after a refresh (`*_first_ms`: a warm process, the cache cleared), which is what the summary
grains (region, district, location) make fast. `map_ms` and `reconciliation_ms` time those two charts alone
(their queries and figure JSON). Baseline in the same run: the same figures counted live on the big tables on
every page view (counts and the GROUP BYs of the charts), as a dashboard without summary tables does. The
last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from benchdb import bench_environment

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


def payments_prepare() -> None:
    """One plan enrolling every individual, and two cycles paid to its active beneficiaries (set-based)."""
    from datetime import date

    from django.db import connection, transaction

    from payments.models import Benefit, PaymentCycle, PaymentPlan, Payroll
    from programs.models import Beneficiary, BenefitPlan

    if Beneficiary.objects.exists():
        return
    started = time.perf_counter()
    with transaction.atomic():
        plan = BenefitPlan.objects.create(
            code="BENCH-DASH", name="Bench cash transfer", plan_type="individual", start_date=date(2020, 1, 1)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Beneficiary._meta.db_table}
                    (benefit_plan_id, individual_id, location_id, status, status_reason, status_changed_at,
                     enrolled_at, data)
                SELECT %s, id, location_id,
                       CASE id %% 20 WHEN 0 THEN 'suspended' WHEN 1 THEN 'exited' WHEN 2 THEN 'potential'
                                     WHEN 3 THEN 'graduated' ELSE 'active' END,
                       '', now(), registration_date + interval '20 days', '{{}}'::jsonb
                FROM registry_individual
                """,
                [plan.pk],
            )
        payment_plan = PaymentPlan.objects.create(benefit_plan=plan, name="Monthly", amount_formula="100")
        for code, month, status in (("BENCH-2026-01", 1, "reconciled"), ("BENCH-2026-02", 2, "sent")):
            cycle = PaymentCycle.objects.create(
                code=code, start_date=date(2026, month, 1), end_date=date(2026, month, 28)
            )
            payroll = Payroll.objects.create(
                payment_plan=payment_plan,
                cycle=cycle,
                name=code,
                status=status,
                payment_date=cycle.start_date,
                amount_formula="100",
            )
            line_status = (
                "CASE WHEN b.id %% 50 < 45 THEN 'paid' WHEN b.id %% 50 < 48 THEN 'failed' ELSE 'pending' END"
                if status == "reconciled"
                else "CASE WHEN b.id %% 2 = 0 THEN 'paid' ELSE 'pending' END"
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    INSERT INTO {Benefit._meta.db_table}
                        (payroll_id, beneficiary_id, cycle_id, recipient_id, location_id, reference, amount,
                         status, hold_reason, amount_paid, transaction_id, failure_reason, evidence_agent,
                         evidence_photo)
                    SELECT %s, id, %s, individual_id, location_id, %s || '-' || id, amount, line_status, '',
                           CASE WHEN line_status = 'paid' THEN amount END, '', '', '', ''
                    FROM (SELECT b.id, b.individual_id, b.location_id, 100 + (b.id %% 5) * 25 AS amount,
                                 {line_status} AS line_status
                          FROM {Beneficiary._meta.db_table} b WHERE b.benefit_plan_id = %s
                          AND b.status = 'active') AS lines
                    """,
                    [payroll.pk, cycle.pk, code, plan.pk],
                )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"enrolled {Beneficiary.objects.count():,} beneficiaries and wrote {Benefit.objects.count():,} "
        f"payment lines in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def first_view_ms(client, url: str, runs: int) -> float:  # type: ignore[no-untyped-def]
    """The first view after a refresh: a warm process, the cached rollup gone (median of `runs`)."""
    from django.core.cache import cache

    fetch = get_ok(client, url)
    fetch()
    times = []
    for _ in range(runs):
        cache.clear()
        started = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def charts_ms(user, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The map and the reconciliation chart alone, for `user`, unfiltered (their queries and figure JSON)."""
    from portal.dashboard import (
        coverage_areas,
        map_chart,
        reconciliation_by_cycle,
        reconciliation_chart,
        registry_rollup,
    )
    from portal.summaries import SummaryFilters, summary_grain

    filters = SummaryFilters()
    grain = summary_grain(user=user, filters=filters, depth=0)
    rollup = registry_rollup(user=user, filters=filters, depth=0, grain=grain)

    def draw_map() -> object:
        return map_chart(areas=coverage_areas(user=user, filters=filters, rollup=rollup, grain=grain))

    def draw_reconciliation() -> object:
        return reconciliation_chart(cycles=reconciliation_by_cycle(user=user, filters=filters, grain=grain))

    return {"map_ms": median_ms(draw_map, runs), "reconciliation_ms": median_ms(draw_reconciliation, runs)}


def live_counts() -> dict[str, object]:
    """The baseline: what the dashboard shows, counted on the big tables."""
    from django.db.models import Count
    from django.db.models.functions import Substr, TruncMonth
    from django.utils import timezone

    from portal.summaries import age_band_expression
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
            Individual.objects.annotate(band=age_band_expression(timezone.localdate()))
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

    url = bench_environment(DEFAULT_URL)

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)

    from portal.models import BeneficiarySummary, PaymentSummary, RegistrySummary, SummaryGrain, UserProfile
    from portal.roles import PROGRAMME_OFFICER, REGISTRY_OFFICER
    from portal.summaries import summaries_refresh, summaries_vacuum
    from registry.models import Household, Individual, Location

    individuals = Individual.objects.count()
    if individuals < 100_000:
        raise SystemExit(f"{url} holds {individuals:,} individuals: fill it with bench/registry.py first")
    print(f"{individuals:,} individuals, {Household.objects.count():,} households", flush=True)
    payments_prepare()

    started = time.perf_counter()
    summaries_refresh()
    refresh_s = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    summaries_vacuum()  # as the refresh job does once its transaction committed
    vacuum_s = round(time.perf_counter() - started, 2)
    summary_rows = {
        grain.label: RegistrySummary.objects.filter(grain=grain).count()
        + BeneficiarySummary.objects.filter(grain=grain).count()
        + PaymentSummary.objects.filter(grain=grain).count()
        for grain in SummaryGrain
    }
    print(f"summaries refreshed in {refresh_s} s: summary rows per grain {summary_rows}", flush=True)

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
        "vacuum_s": vacuum_s,
    }
    from django.core.cache import cache

    get_ok(admin_client, "/admin/")()  # warm the process (imports, templates, connections)...
    cache.clear()  # ...but not the cached rollup
    started = time.perf_counter()
    get_ok(admin_client, "/admin/")()
    figures["dashboard_uncached_ms"] = round((time.perf_counter() - started) * 1000, 1)
    filtered = f"/admin/?location={region.pk}&period=12"
    district = Location.objects.filter(depth=1, path__startswith=region.path).order_by("pk").first()
    by_district = f"/admin/?location={district.pk}" if district else filtered
    figures["dashboard_first_ms"] = first_view_ms(admin_client, "/admin/", options.runs)
    figures["dashboard_scoped_first_ms"] = first_view_ms(officer_client, "/admin/", options.runs)
    figures["dashboard_filtered_first_ms"] = first_view_ms(admin_client, filtered, options.runs)
    figures["dashboard_district_first_ms"] = first_view_ms(admin_client, by_district, options.runs)
    figures["dashboard_ms"] = median_ms(get_ok(admin_client, "/admin/"), options.runs)
    figures["dashboard_scoped_ms"] = median_ms(get_ok(officer_client, "/admin/"), options.runs)
    figures["dashboard_filtered_ms"] = median_ms(get_ok(admin_client, filtered), options.runs)
    figures.update(charts_ms(admin, options.runs))
    figures["baseline_live_counts_ms"] = median_ms(live_counts, options.runs)
    figures["speedup"] = round(figures["baseline_live_counts_ms"] / figures["dashboard_ms"], 1)  # type: ignore[operator]
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
