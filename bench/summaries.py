"""Benchmark: the dashboard's summaries kept up incrementally after each kind of write, and the full rebuild.

    .venv/bin/python bench/summaries.py [--households 10000]

Uses the registry benchmark's database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_summ_bench,
filled with `manage.py generate_demo_data --households 222000`), migrated, with the dashboard bench's plan
and two payment cycles (`dashboard.payments_prepare`, written the first time).
Baseline: the full rebuild as it was (`summaries_refresh` before this change: every summary deleted and
counted again from the registry, the beneficiaries and the payment lines in one transaction), timed on the
same data.
Ours: the full rebuild as it is now, then four writes, each followed by `summaries_refresh_incremental()`
(timed), the changes marked as the portal's receivers mark them:
  upload        --households new households (about 4.5 people each) generated into one region by the
                registry's bulk loader and enrolled in the plan (as an upload's commit does): their counts are
                added (only the new rows are read), the region's districts and the region summed again;
  enrolment     the people of one region enrolled in a new plan: that plan is recounted;
  payroll       an approved payroll of every active beneficiary in a new cycle: that cycle is recounted;
  reconciliation 1,000 pending lines reported paid: their (cycle, location) pairs are recounted.
Then the summary tables are compared, row for row, with a full rebuild on the same data (they must be equal).
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

from benchdb import bench_environment, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_summ_bench"
SUMMARY_TABLES = ("portal_registrysummary", "portal_beneficiarysummary", "portal_paymentsummary")


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return round(time.perf_counter() - started, 2)


def _insert_select(model, columns: list[str], queryset) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) {sql}", params)


def baseline_full_refresh() -> None:
    """The full rebuild as it was before this change (main at 2fd8130): GROUP BY the location's path joined to
    every row of the big tables, the payment lines joined to their payroll, plan and cycle row by row; one
    transaction, then the coarser grains and ANALYZE as today."""
    from django.db import transaction
    from django.db.models import CharField, Count, DateField, IntegerField, Sum, Value
    from django.db.models.functions import TruncMonth
    from django.utils import timezone

    from payments.models import Benefit
    from portal.models import BeneficiarySummary, PaymentSummary, RegistrySummary, SummaryRefresh
    from portal.summaries import ISSUED_PAYROLL_STATES, age_band_expression
    from portal.summaries.refresh import _coarse_grains_write, _statistics_update
    from programs.models import Beneficiary
    from registry.models import Household, Individual

    fine = Value(99, output_field=IntegerField())
    columns = ["kind", "grain", "location", "location_path", "sex", "age_band", "registered_month", "count"]
    today = timezone.localdate()
    with transaction.atomic():
        RegistrySummary.objects.all().delete()
        people = (
            Individual.objects.annotate(
                k=Value("individual", output_field=CharField()),
                g=fine,
                band=age_band_expression(today),
                month=TruncMonth("registration_date", output_field=DateField()),
            )
            .values("k", "g", "location_id", "location__path", "sex", "band", "month")
            .annotate(n=Count("pk"))
            .order_by("location__path")
        )
        _insert_select(RegistrySummary, columns, people)
        households = (
            Household.objects.annotate(
                k=Value("household", output_field=CharField()),
                g=fine,
                s=Value("", output_field=CharField()),
                b=Value("", output_field=CharField()),
                month=TruncMonth("registration_date", output_field=DateField()),
            )
            .values("k", "g", "location_id", "location__path", "s", "b", "month")
            .annotate(n=Count("pk"))
            .order_by("location__path")
        )
        _insert_select(RegistrySummary, columns, households)
        BeneficiarySummary.objects.all().delete()
        beneficiaries = (
            Beneficiary.objects.annotate(g=fine, month=TruncMonth("enrolled_at", output_field=DateField()))
            .values("benefit_plan_id", "status", "g", "location_id", "location__path", "month")
            .annotate(n=Count("pk"))
            .order_by("location__path")
        )
        _insert_select(
            BeneficiarySummary,
            ["benefit_plan", "status", "grain", "location", "location_path", "enrolled_month", "count"],
            beneficiaries,
        )
        PaymentSummary.objects.all().delete()
        lines = (
            Benefit.objects.filter(payroll__status__in=ISSUED_PAYROLL_STATES)
            .annotate(g=fine)
            .values(
                "payroll__payment_plan__benefit_plan_id",
                "cycle_id",
                "cycle__start_date",
                "status",
                "g",
                "location_id",
                "location__path",
            )
            .annotate(n=Count("pk"), issued=Sum("amount"), paid=Sum("amount_paid"))
            .order_by("location__path")
        )
        _insert_select(
            PaymentSummary,
            ["benefit_plan", "cycle", "cycle_start", "status", "grain", "location", "location_path", "count"]
            + ["amount", "amount_paid"],
            lines,
        )
        _coarse_grains_write()
        _statistics_update()
        SummaryRefresh.objects.create(refreshed_at=timezone.now(), age_bands_on=today)


def upload_into_region(households: int, region) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Generate `households` into the villages of `region` with the registry's bulk loader (as an upload
    commits) and enrol them in the bench plan; returns the new individuals' id range."""
    from django.db import connection
    from django.db.models import Max

    import fixtures.generator.driver as driver
    from programs.models import Beneficiary, BenefitPlan
    from registry.models import Individual, Location

    inside = set(Location.objects.filter(path__startswith=region.path, depth=3).values_list("pk", flat=True))
    original = driver.load_villages

    def region_villages(rng):  # type: ignore[no-untyped-def]
        villages = original(rng)
        keep = [i for i, pk in enumerate(villages.ids) if pk in inside]
        for name in ("ids", "names", "latitudes", "longitudes", "cultures", "cumulative_weights"):
            values = getattr(villages, name)
            setattr(villages, name, [values[i] for i in keep])
        return villages

    before = Individual.objects.aggregate(m=Max("pk"))["m"] or 0
    driver.load_villages = region_villages
    try:
        driver.demo_data_generate(households=households, seed=int(time.time()))
    finally:
        driver.load_villages = original
    last = Individual.objects.aggregate(m=Max("pk"))["m"]
    plan = BenefitPlan.objects.get(code="BENCH-DASH")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Beneficiary._meta.db_table} (benefit_plan_id, individual_id, location_id, status, "
            "status_reason, status_changed_at, enrolled_at, data) "
            "SELECT %s, id, location_id, 'potential', '', "
            "now(), now(), '{}'::jsonb FROM registry_individual WHERE id > %s AND id <= %s",
            [plan.pk, before, last],
        )
    return before + 1, last


def enrol_region(region) -> int:  # type: ignore[no-untyped-def]
    """Enrol the people of one region in a new plan (set-based, as the enrolment's bulk insert does)."""
    from django.db import connection

    from programs.models import Beneficiary, BenefitPlan

    plan = BenefitPlan.objects.create(
        code=f"BENCH-ENROL-{int(time.time())}",
        name="Bench enrolment",
        plan_type="individual",
        start_date=date(2020, 1, 1),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Beneficiary._meta.db_table} (benefit_plan_id, individual_id, location_id, status, "
            "status_reason, status_changed_at, enrolled_at, data) "
            "SELECT %s, i.id, i.location_id, 'active', '', "
            "now(), now(), '{}'::jsonb FROM registry_individual i JOIN registry_location l "
            "ON l.id = i.location_id WHERE l.path LIKE %s",
            [plan.pk, region.path + "%"],
        )
        return plan.pk


def payroll_approved() -> int:
    """A new cycle with an approved payroll of every active beneficiary of the bench plan; its id."""
    from django.db import connection

    from payments.models import Benefit, PaymentCycle, PaymentPlan, Payroll
    from programs.models import Beneficiary

    stamp = int(time.time())
    payment_plan = PaymentPlan.objects.get(benefit_plan__code="BENCH-DASH", name="Monthly")
    cycle = PaymentCycle.objects.create(
        code=f"BENCH-P-{stamp}", start_date=date(2026, 3, 1), end_date=date(2026, 3, 28)
    )
    payroll = Payroll.objects.create(
        payment_plan=payment_plan,
        cycle=cycle,
        name=cycle.code,
        status="approved",
        payment_date=cycle.start_date,
        amount_formula="100",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Benefit._meta.db_table} (payroll_id, beneficiary_id, cycle_id, recipient_id, "
            "location_id, reference, amount, status, hold_reason, amount_paid, transaction_id, "
            "failure_reason, "
            "evidence_agent, evidence_photo) SELECT %s, id, %s, individual_id, location_id, %s || '-' || id, "
            f"100, 'pending', '', NULL, '', '', '', '' FROM {Beneficiary._meta.db_table} "
            "WHERE benefit_plan_id = %s AND status = 'active'",
            [payroll.pk, cycle.pk, cycle.code, payment_plan.benefit_plan_id],
        )
    return cycle.pk


def lines_reconciled(count: int) -> list[str]:
    """`count` pending lines of the sent cycle reported paid (one UPDATE, as the reconciliation API does)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_benefit SET status = 'paid', amount_paid = amount, paid_at = now() WHERE id IN "
            "(SELECT b.id FROM payments_benefit b JOIN payments_payroll p ON p.id = b.payroll_id "
            "WHERE p.status = 'sent' AND b.status = 'pending' LIMIT %s) "
            "RETURNING reference",
            [count],
        )
        return [reference for (reference,) in cursor.fetchall()]


def tables_equal_to_full_rebuild() -> bool:
    """Snapshot the summary tables, rebuild them in full, compare both ways (EXCEPT ALL, ids left out)."""
    from django.db import connection

    from portal.summaries import summaries_refresh

    columns = {}
    with connection.cursor() as cursor:
        for table in SUMMARY_TABLES:
            cursor.execute(
                "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) "
                "FROM information_schema.columns "
                "WHERE table_name = %s AND column_name <> 'id'",
                [table],
            )
            columns[table] = cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
            cursor.execute(f"CREATE TABLE bench_{table} AS SELECT {columns[table]} FROM {table}")
    summaries_refresh()
    equal = True
    with connection.cursor() as cursor:
        for table in SUMMARY_TABLES:
            cols = columns[table]
            cursor.execute(
                f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {table} EXCEPT ALL "
                f"SELECT {cols} FROM bench_{table}) a), "
                f"(SELECT count(*) FROM (SELECT {cols} FROM bench_{table} "
                f"EXCEPT ALL SELECT {cols} FROM {table}) b)"
            )
            missing, extra = cursor.fetchone()
            if missing or extra:
                print(f"  {table}: {missing} rows of the full rebuild missing, {extra} extra", flush=True)
                equal = False
            cursor.execute(f"DROP TABLE bench_{table}")
    return equal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000, help="households of the upload")
    parser.add_argument("--skip-baseline", action="store_true", help="leave the baseline out (it is slow)")
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from dashboard import payments_prepare

    from portal.models import SummaryChangeKind
    from portal.signals import reconciliation_changes_mark, upload_changes_mark
    from portal.summaries import (
        summaries_refresh,
        summaries_refresh_incremental,
        summaries_vacuum,
        summary_changes_mark,
    )
    from registry.models import Individual, Location

    individuals = Individual.objects.count()
    if individuals < 100_000:
        raise SystemExit(f"{url} holds {individuals:,} individuals: fill it with generate_demo_data first")
    payments_prepare()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{individuals:,} individuals; context {server_context()}", flush=True)

    figures: dict[str, object] = {"individuals": individuals}
    if not options.skip_baseline:
        figures["baseline_full_s"] = timed(baseline_full_refresh)
        summaries_vacuum()
        print(f"baseline full rebuild: {figures['baseline_full_s']} s", flush=True)
    figures["refresh_full_s"] = timed(summaries_refresh)
    figures["vacuum_s"] = timed(summaries_vacuum)
    print(
        f"ours, full rebuild: {figures['refresh_full_s']} s (then VACUUM {figures['vacuum_s']} s)", flush=True
    )

    regions = list(Location.objects.filter(depth=0).order_by("pk"))
    started = time.perf_counter()
    first, last = upload_into_region(options.households, regions[0])
    upload_changes_mark(first_individual_id=first, last_individual_id=last, plan_id=_bench_plan_id())
    print(f"upload: {last - first + 1:,} people written in {time.perf_counter() - started:.1f} s", flush=True)
    figures["refresh_after_upload_s"] = timed(summaries_refresh_incremental)

    plan_id = enrol_region(regions[1 % len(regions)])
    summary_changes_mark(SummaryChangeKind.BENEFICIARY, [(plan_id, None)])
    figures["refresh_after_enrol_s"] = timed(summaries_refresh_incremental)

    started = time.perf_counter()
    cycle_id = payroll_approved()
    summary_changes_mark(SummaryChangeKind.PAYMENT, [(cycle_id, None)])
    print(f"payroll written in {time.perf_counter() - started:.1f} s", flush=True)
    figures["refresh_after_payroll_s"] = timed(summaries_refresh_incremental)

    reconciliation_changes_mark(lines_reconciled(1_000))
    figures["refresh_after_reconciliation_s"] = timed(summaries_refresh_incremental)

    figures["incremental_equals_full"] = tables_equal_to_full_rebuild()
    for key, value in figures.items():
        print(f"{key:>32}: {value}")
    keys = ["individuals", "refresh_full_s", "refresh_after_upload_s", "refresh_after_enrol_s"]
    keys += ["refresh_after_payroll_s", "refresh_after_reconciliation_s", "baseline_full_s"]
    print(json.dumps({key: figures.get(key) for key in keys}))


def _bench_plan_id() -> int:
    from programs.models import BenefitPlan

    return BenefitPlan.objects.get(code="BENCH-DASH").pk


if __name__ == "__main__":
    main()
