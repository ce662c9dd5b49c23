"""Benchmark: a payroll for 1,000,000 beneficiaries, and 100,000 lines reconciled through the API.

    .venv/bin/python bench/payroll.py [--households 1000000] [--baseline-rows 20000] [--reconcile 100000]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_payroll), dropped and
created again at each run. Households come from one `INSERT ... SELECT generate_series` (their size in the
stored `size` column, as the registry keeps it) and are enrolled, all active, by the programmes' set-based
enrolment; each beneficiary gets a custom field (`data.school_attendance`, `data.children`). Then:
ours = the payroll job (INSERT ... SELECT in chunks of 200,000 beneficiaries by id range, one transaction,
the job's progress written between chunks; the amount computed in the database by the compiled formula
`150 + 25 * min(household_size, 6) + if(data.school_attendance >= 0.8, 40, 0)`, held lines explained);
baseline = a per-beneficiary ORM loop (read the household, compute the amount in Python, `objects.create`)
timed on a sample and extrapolated; reconciliation = the approved, sent payroll reported as paid through
`POST /api/payments/reconciliations` in requests of 10,000 lines. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from benchdb import bench_environment, database_recreate, peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_payroll"
FORMULA = "150 + 25 * min(household_size, 6) + if(data.school_attendance >= 0.8, 40, 0)"
FILTER = 'status == "active"'


def baseline_per_row(*, payment_plan, cycle, rows: int) -> float:  # type: ignore[no-untyped-def]
    """The plain way: per beneficiary, read its household and data, compute the amount, `objects.create`."""
    from payments.models import Benefit, BenefitStatus, Payroll
    from programs.models import Beneficiary

    payroll = Payroll.objects.create(
        payment_plan=payment_plan, cycle=cycle, name="baseline", status="draft", payment_date=cycle.start_date
    )
    started = time.monotonic()
    for beneficiary in (
        Beneficiary.objects.filter(benefit_plan=payment_plan.benefit_plan, status="active")
        .order_by("pk")[:rows]
        .iterator(chunk_size=2000)
    ):
        household = beneficiary.household  # one query per row, as a loop does
        attendance = (beneficiary.data or {}).get("school_attendance")
        amount = Decimal(
            150 + 25 * min(household.size, 6) + (40 if attendance is not None and attendance >= 0.8 else 0)
        )
        limit = payment_plan.per_transaction_limit
        Benefit.objects.create(
            payroll=payroll,
            beneficiary=beneficiary,
            cycle=cycle,
            location_id=beneficiary.location_id,
            reference=f"BASE-{beneficiary.pk}",
            amount=amount,
            status=BenefitStatus.HELD if limit is not None and amount > limit else BenefitStatus.PENDING,
        )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--reconcile", type=int, default=100_000)
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("bench_enrolment", ROOT / "bench" / "enrolment.py")
    enrolment = module_from_spec(spec)
    spec.loader.exec_module(enrolment)
    households_by_sql = enrolment.households_by_sql

    database_recreate(url)

    import django

    django.setup()
    from datetime import date

    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from approvals.services import task_approve
    from payments.models import Benefit, BenefitStatus, PaymentCycle, PaymentPlan, PaymentPoint
    from payments.services import payment_point_key_rotate, payroll_create, payroll_send, payroll_submit
    from payments.tasks import payroll_generate_job
    from portal.models import UserProfile
    from programs.models import BeneficiaryStatus, BenefitPlan, PlanType
    from programs.services import EnrolmentSelection, plan_enrol
    from registry.models import Location

    call_command("migrate", verbosity=0)
    print(f"Database {urlparse(url).path.lstrip('/')} created and migrated.", flush=True)
    started = time.monotonic()
    households_by_sql(options.households)
    admin = User.objects.create_superuser("bench", "bench@example.org", "bench-password-1")
    checker = User.objects.create_superuser("bench-checker", "checker@example.org", "bench-password-2")
    for user in (admin, checker):
        UserProfile.objects.create(user=user)
    checker.groups.add(Group.objects.get_or_create(name="Approver")[0])
    plan = BenefitPlan.objects.create(
        code="BENCH",
        name="Benchmark cash transfer",
        plan_type=PlanType.HOUSEHOLD,
        start_date=date(2026, 1, 1),
        status="active",
        beneficiary_schema={
            "type": "object",
            "properties": {"school_attendance": {"type": "number"}, "children": {"type": "integer"}},
        },
    )
    plan_enrol(plan=plan, user=admin, selection=EnrolmentSelection(), status=BeneficiaryStatus.ACTIVE)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE programs_beneficiary SET data = jsonb_build_object("
            "'school_attendance', (id %% 100) / 100.0, "
            "'children', id %% 5) WHERE benefit_plan_id = %s",
            [plan.pk],
        )
        cursor.execute("VACUUM ANALYZE programs_beneficiary")  # as autovacuum would after the UPDATE
    beneficiaries = plan.beneficiaries.count()
    print(f"{beneficiaries:,} active beneficiaries set up in {time.monotonic() - started:.1f} s.", flush=True)

    payment_plan = PaymentPlan.objects.create(
        benefit_plan=plan,
        name="Monthly",
        amount_formula=FORMULA,
        filter_expression=FILTER,
        per_transaction_limit=Decimal("300"),
    )
    cycle = PaymentCycle.objects.create(
        code="2026-01", start_date=date(2026, 1, 1), end_date=date(2026, 1, 31)
    )
    point = PaymentPoint.objects.create(name="Bench mobile money", point_type="mobile_money")
    point.locations.set(Location.objects.filter(depth=0))
    key = payment_point_key_rotate(user=admin, payment_point=point)

    started = time.monotonic()
    payroll = payroll_create(user=admin, payment_plan=payment_plan, cycle=cycle, payment_point=point)
    payroll_generate_job.func(payroll.job_id, payroll.pk)
    ours_s = time.monotonic() - started
    payroll.refresh_from_db()
    lines = Benefit.objects.filter(payroll=payroll).count()
    held = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD).count()
    assert payroll.status == "draft" and lines == beneficiaries, (payroll.status, payroll.error, lines)
    print(
        f"ours: payroll of {lines:,} lines ({held:,} held above the limit) in {ours_s:.1f} s, "
        f"{lines / ours_s:,.0f}/s",
        flush=True,
    )

    other_cycle = PaymentCycle.objects.create(
        code="BASE", start_date=date(2026, 2, 1), end_date=date(2026, 2, 28)
    )
    rows = min(options.baseline_rows, beneficiaries)
    baseline_s = baseline_per_row(payment_plan=payment_plan, cycle=other_cycle, rows=rows)
    extrapolated = baseline_s / rows * beneficiaries
    print(
        f"baseline (per-beneficiary ORM loop): {rows:,} in {baseline_s:.1f} s, {rows / baseline_s:,.0f}/s; "
        f"{beneficiaries:,} would take {extrapolated:,.0f} s ({extrapolated / ours_s:.0f}x ours)",
        flush=True,
    )

    task = payroll_submit(user=admin, payroll=payroll)
    task_approve(task=task, user=checker)
    payroll_send(user=admin, payroll=payroll)
    payroll.refresh_from_db()
    assert payroll.status == "sent", payroll.status
    references = list(
        Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING)
        .order_by("pk")
        .values_list("reference", "amount")[: options.reconcile]
    )
    client = Client()
    paid_at = "2026-01-15T10:00:00+00:00"
    started = time.monotonic()
    accepted = 0
    for start in range(0, len(references), 10_000):
        body = {
            "lines": [
                {
                    "reference": reference,
                    "status": "paid",
                    "amount_paid": str(amount),
                    "paid_at": paid_at,
                    "transaction_id": f"TX{start + index}",
                }
                for index, (reference, amount) in enumerate(references[start : start + 10_000])
            ]
        }
        response = client.post(
            "/api/payments/reconciliations",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_X_API_KEY=key,
            HTTP_IDEMPOTENCY_KEY=f"bench-{start}",
        )
        assert response.status_code == 200, response.content[:500]
        accepted += response.json()["counts"]["accepted"]
    reconcile_s = time.monotonic() - started
    assert accepted == len(references), accepted
    print(
        f"reconciliation: {accepted:,} lines through the API in {reconcile_s:.1f} s, "
        f"{accepted / reconcile_s:,.0f}/s",
        flush=True,
    )
    print(
        json.dumps(
            {
                "beneficiaries": beneficiaries,
                "payroll_generation_s": round(ours_s, 2),
                "payroll_lines": lines,
                "held_lines": held,
                "baseline_rows": rows,
                "baseline_s": round(baseline_s, 1),
                "baseline_s_extrapolated": round(extrapolated, 1),
                "reconciled_lines": accepted,
                "reconciliation_s": round(reconcile_s, 2),
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
