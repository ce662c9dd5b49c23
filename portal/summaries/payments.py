"""Summaries of the payments: issued payroll lines by plan, cycle, status and location, with their amounts."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from payments.models import Benefit, PayrollStatus
from portal.models import PaymentSummary, SummaryGrain
from portal.summaries.grains import FINE, SummaryFilters, User, insert_select
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
    lines = (
        Benefit.objects.filter(where or Q(), payroll__status__in=ISSUED_PAYROLL_STATES)
        .annotate(summary_grain=FINE)
        .values(
            "payroll__payment_plan__benefit_plan_id",
            "cycle_id",
            "cycle__start_date",
            "status",
            "summary_grain",
            "location_id",
            "location__path",
        )
        .annotate(n=Count("pk"), issued=Sum("amount"), paid=Sum("amount_paid"))
        .order_by("location__path")
    )
    insert_select(
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
    )


def payment_summary_list(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> QuerySet[PaymentSummary]:
    """Summary rows of payment lines of the user's plans in the user's locations, filtered."""
    return plan_summary_list(
        PaymentSummary, user=user, filters=filters, period_field="cycle_start", grain=grain
    )
