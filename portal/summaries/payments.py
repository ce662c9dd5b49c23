"""Summaries of the payments: issued payroll lines by plan, cycle, status and location, with their amounts."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from payments.models import Benefit, PaymentCycle, PaymentPlan, Payroll, PayrollStatus
from portal.models import PaymentSummary, SummaryGrain
from portal.summaries.grains import FINE_GRAIN, SummaryFilters, User, insert_grouped, location_join
from portal.summaries.programmes import plan_summary_list

# Payrolls whose lines count as issued: approved and on; drafts, rejected and cancelled ones do not.
ISSUED_PAYROLL_STATES = (
    PayrollStatus.APPROVED,
    PayrollStatus.SENT,
    PayrollStatus.RECONCILING,
    PayrollStatus.RECONCILED,
)


def payment_summaries_write(where: Q | None = None) -> None:
    """Write the per-location rows of issued payment lines: INSERT ... SELECT ... GROUP BY.

    With `where` (a condition on lines), only those are counted (the caller deleted their rows); else every
    row is replaced.
    """
    if where is None:
        PaymentSummary.objects.all().delete()
    issued = list(Payroll.objects.filter(status__in=ISSUED_PAYROLL_STATES).values_list("pk", flat=True))
    lines = (
        Benefit.objects.filter(where or Q(), payroll_id__in=issued)
        .values("payroll_id", "cycle_id", "status", "location_id")
        .annotate(n=Count("pk"), issued=Sum("amount"), paid=Sum("amount_paid"))
        .order_by()
    )
    quote = connection.ops.quote_name
    payrolls, plans = quote(Payroll._meta.db_table), quote(PaymentPlan._meta.db_table)
    cycles = quote(PaymentCycle._meta.db_table)
    insert_grouped(
        PaymentSummary,
        [
            "benefit_plan",
            "cycle",
            "cycle_start",
            "status",
            "grain",
            "location",
            "location_path",
            "count",
            "amount",
            "amount_paid",
        ],
        lines,
        select=f"pp.benefit_plan_id, a.cycle_id, c.start_date, a.status, {FINE_GRAIN}, a.location_id, "
        "l.path, "
        "SUM(a.n), SUM(a.issued), SUM(a.paid)",
        joins=f"JOIN {payrolls} p ON p.id = a.payroll_id JOIN {plans} pp ON pp.id = p.payment_plan_id "
        f"JOIN {cycles} c ON c.id = a.cycle_id {location_join()}",
        group_by="pp.benefit_plan_id, a.cycle_id, c.start_date, a.status, a.location_id, l.path",
        ordered=where is None,
    )


def payment_summary_list(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> QuerySet[PaymentSummary]:
    """Summary rows of payment lines of the user's plans in the user's locations, filtered."""
    return plan_summary_list(
        PaymentSummary, user=user, filters=filters, period_field="cycle_start", grain=grain
    )
