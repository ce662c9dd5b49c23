"""Benchmark: saved reports at 1,000,000 individuals and beneficiaries (PostgreSQL).

    .venv/bin/python bench/report.py [--households 222000] [--seed 1] [--runs 5] [--fresh]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_reports): created and
migrated when missing, and kept between runs unless --fresh. When it holds too few people it is filled with
`manage.py generate_demo_data` (about 4.5 individuals per household); everyone is then enrolled in one
individual plan by one INSERT ... SELECT writing the rows the enrolment service writes (statuses spread by
id), and two payrolls (two cycles) are generated for the active beneficiaries by the payroll job. A database
filled by the registry benchmark (DATABASE_URL=.../h_bench_registry) can be reused: the plan is added to it.

Times are whole requests through Django's test Client (database, Python, templates), median of --runs after
one warm-up: each report's page for a superuser and for an officer scoped to one region, the CSV export,
and the dashboard with the reports pinned (first view computes them, later views read the cache).
Baseline in the same run: the same figures the plain way, the rows fetched and counted in Python
(`collections.Counter` over a `values_list` of the whole table), on one report.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from benchdb import bench_environment, database_prepare, peak_rss_mb

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_reports"
PLAN_CODE = "BENCH-REPORTS"

REPORTS = {
    # key: (name, definition)
    "individuals_by_district": (
        "People by district",
        {"dataset": "individuals", "group_by": "location:1"},
    ),
    "individuals_by_region_and_sex": (
        "People by region and sex",
        {"dataset": "individuals", "group_by": "location:0", "series_by": "sex"},
    ),
    "individuals_by_age_band_filtered": (
        "Women by age band, with a disability",
        {
            "dataset": "individuals",
            "group_by": "age_band",
            "filter_expression": 'sex == "F" and data.disability',
        },
    ),
    "beneficiaries_by_status": (
        "Beneficiaries by status",
        {"dataset": "beneficiaries", "group_by": "status", "chart_type": "pie"},
    ),
    "beneficiaries_by_region_and_status": (
        "Beneficiaries by region and status",
        {"dataset": "beneficiaries", "group_by": "location:0", "series_by": "status"},
    ),
    "benefits_sum_by_month": (
        "Amount issued by month",
        {
            "dataset": "benefits",
            "group_by": "month:payroll__payment_date",
            "measure": "sum",
            "measure_field": "amount",
            "chart_type": "line",
        },
    ),
}


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: connections, templates, schema caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def once_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return round((time.perf_counter() - started) * 1000, 1)


def get_ok(client, url: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    def fetch() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        return response

    return fetch


def beneficiaries_fill(*, admin) -> None:  # type: ignore[no-untyped-def]
    """Everyone in one individual plan (statuses spread), then two payrolls of the active ones; resumable."""
    from datetime import date

    from django.db import connection
    from django.utils import timezone

    from payments.models import PaymentCycle, PaymentPlan, Payroll
    from payments.services import payroll_create
    from payments.tasks import payroll_generate_job
    from programs.models import BenefitPlan, PlanType

    plan, _ = BenefitPlan.objects.get_or_create(
        code=PLAN_CODE,
        defaults={
            "name": "Benchmark cash transfer",
            "plan_type": PlanType.INDIVIDUAL,
            "start_date": date(2026, 1, 1),
            "status": "active",
        },
    )
    if not plan.beneficiaries.exists():
        # The rows the enrolment service writes, in one INSERT ... SELECT; statuses spread by id.
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO programs_beneficiary (benefit_plan_id, individual_id, location_id, status, "
                "status_reason, status_changed_at, enrolled_at, data) "
                "SELECT %s, id, location_id, CASE WHEN id %% 10 = 0 THEN 'potential' "
                "WHEN id %% 10 = 1 THEN 'suspended' WHEN id %% 20 = 2 THEN 'exited' ELSE 'active' END, "
                "'', %s, %s, '{}'::jsonb FROM registry_individual",
                [plan.pk, timezone.now(), timezone.now()],
            )
            cursor.execute("VACUUM ANALYZE programs_beneficiary")
        print(f"{plan.beneficiaries.count():,} enrolled in {time.monotonic() - started:.0f} s", flush=True)
    payment_plan, _ = PaymentPlan.objects.get_or_create(
        benefit_plan=plan,
        name="Monthly",
        defaults={"amount_formula": "100 + 10 * household_size", "filter_expression": 'status == "active"'},
    )
    for month in (1, 2):
        cycle, _ = PaymentCycle.objects.get_or_create(
            code=f"2026-0{month}",
            defaults={"start_date": date(2026, month, 1), "end_date": date(2026, month, 28)},
        )
        if Payroll.objects.filter(cycle=cycle, status="draft").exists():
            continue
        Payroll.objects.filter(cycle=cycle).exclude(status="draft").update(status="cancelled")
        started = time.monotonic()
        payroll = payroll_create(user=admin, payment_plan=payment_plan, cycle=cycle, payment_point=None)
        payroll_generate_job.func(payroll.job_id, payroll.pk)
        payroll.refresh_from_db()
        print(f"payroll {cycle.code}: {payroll.status} in {time.monotonic() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE payments_benefit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=222_000, help="about 4.5 individuals each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="drop the database and fill it again")
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=options.fresh)

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from guardian.shortcuts import assign_perm

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)

    from payments.models import Benefit
    from portal.models import UserProfile
    from portal.roles import PROGRAMME_OFFICER, REGISTRY_OFFICER
    from programs.models import Beneficiary, BenefitPlan
    from registry.models import Individual, Location
    from reports.models import Report
    from reports.selectors import report_result

    admin, _ = User.objects.get_or_create(
        username="bench-reports-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    UserProfile.objects.get_or_create(user=admin)
    have = Individual.objects.count()
    target = int(options.households * 4.5)
    if have < target * 0.95:
        print(f"{have:,} individuals; generating {options.households:,} households...", flush=True)
        started = time.monotonic()
        call_command("generate_demo_data", households=options.households, seed=options.seed)
        print(f"generated in {time.monotonic() - started:.0f} s", flush=True)
    beneficiaries_fill(admin=admin)
    with connection.cursor() as cursor:
        # As autovacuum would have by now: statistics, and visibility maps for index-only scans.
        for table in (
            "registry_individual",
            "registry_household",
            "programs_beneficiary",
            "payments_benefit",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    plan = BenefitPlan.objects.get(code=PLAN_CODE)
    individuals = Individual.objects.count()
    beneficiaries = Beneficiary.objects.count()
    benefits = Benefit.objects.count()
    print(
        f"{individuals:,} individuals, {beneficiaries:,} beneficiaries, {benefits:,} benefit lines",
        flush=True,
    )

    region = Location.objects.filter(depth=0).order_by("pk").first()
    officer, created = User.objects.get_or_create(
        username="bench-reports-officer", defaults={"is_staff": True}
    )
    if created:
        officer.groups.set(Group.objects.filter(name__in=(REGISTRY_OFFICER, PROGRAMME_OFFICER)))
        UserProfile.objects.get_or_create(user=officer)[0].locations.set([region])
        assign_perm("programs.view_benefitplan", officer, plan)

    Report.objects.filter(name__startswith="bench: ").delete()
    reports: dict[str, Report] = {}
    for position, (key, (name, definition)) in enumerate(REPORTS.items()):
        report = Report(name=f"bench: {name}", created_by=admin, pin_order=position, **definition)
        report.full_clean()
        report.save()
        reports[key] = report
    admin_client, officer_client = Client(), Client()
    admin_client.force_login(admin)
    officer_client.force_login(officer)

    figures: dict[str, object] = {
        "individuals": individuals,
        "beneficiaries": beneficiaries,
        "benefit_lines": benefits,
    }
    for key, report in reports.items():
        result = report_result(report=report, user=admin)
        assert not result.error, (key, result.error)
        page = f"/admin/reports/report/{report.pk}/view/"
        figures[f"{key}_groups"] = len(result.rows)
        figures[f"{key}_ms"] = median_ms(get_ok(admin_client, page), options.runs)
        figures[f"{key}_scoped_ms"] = median_ms(get_ok(officer_client, page), options.runs)
        print(
            f"{key}: {len(result.rows)} groups, {figures[f'{key}_ms']} ms, "
            f"scoped to a region {figures[f'{key}_scoped_ms']} ms",
            flush=True,
        )
    export = f"/admin/reports/report/{reports['individuals_by_district'].pk}/export/xlsx/"
    figures["export_xlsx_ms"] = median_ms(get_ok(admin_client, export), options.runs)

    # The dashboard with four of them pinned: the first view computes them, the next ones read the cache.
    Report.objects.filter(pk__in=[r.pk for r in list(reports.values())[:4]]).update(pinned=True)
    get_ok(admin_client, "/admin/")()  # warm the process (imports, templates, connections)...
    cache.clear()  # ...but not the pinned reports
    figures["dashboard_pinned_first_ms"] = once_ms(get_ok(admin_client, "/admin/"))
    figures["dashboard_pinned_cached_ms"] = median_ms(get_ok(admin_client, "/admin/"), options.runs)
    Report.objects.filter(pk__in=[r.pk for r in reports.values()]).update(pinned=False)

    # Baseline: the first report counted in Python over every row, as a loop over the table would.
    from collections import Counter

    def python_count() -> object:
        paths = Individual.objects.values_list("location__path", flat=True).iterator(chunk_size=20_000)
        return Counter(path[:18] for path in paths)

    figures["baseline_python_count_ms"] = median_ms(python_count, max(1, options.runs // 2))
    figures["peak_rss_mb"] = peak_rss_mb()
    slowest = max(v for k, v in figures.items() if k.endswith("_ms") and k.split("_ms")[0] in _report_keys())
    figures["slowest_report_ms"] = slowest
    for key, value in figures.items():
        print(f"{key:>45}: {value}")
    print(json.dumps(figures))


def _report_keys() -> set[str]:
    return {key for key in REPORTS} | {f"{key}_scoped" for key in REPORTS}


if __name__ == "__main__":
    main()
