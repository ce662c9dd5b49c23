"""Summaries of the programmes: beneficiaries by plan, status, location and month of enrolment."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, DateField, Q, QuerySet
from django.db.models.functions import TruncMonth

from access.plans import plan_list, user_sees_all_plans
from portal.models import BeneficiarySummary, SummaryGrain
from portal.summaries.grains import FINE_GRAIN, SummaryFilters, User, insert_grouped, location_join, scope_q
from programs.models import Beneficiary


def beneficiary_summaries_write(where: Q | None = None, *, grain: int = FINE_GRAIN) -> None:
    """Write the per-location rows of beneficiaries: INSERT ... SELECT ... GROUP BY.

    With `where` (a condition on beneficiaries), only those are counted (the caller deleted their rows);
    else every row is replaced.
    """
    if where is None:
        BeneficiarySummary.objects.all().delete()
    beneficiaries = (
        Beneficiary.objects.filter(where or Q())
        .annotate(month=TruncMonth("enrolled_at", output_field=DateField()))
        .values("benefit_plan_id", "status", "location_id", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    insert_grouped(
        BeneficiarySummary,
        ["benefit_plan", "status", "grain", "location", "location_path", "enrolled_month", "count"],
        beneficiaries,
        select=f"a.benefit_plan_id, a.status, {int(grain)}, a.location_id, l.path, a.month, a.n",
        joins=location_join(),
        ordered=where is None,
    )


def _user_plan_ids(user: User) -> list[int]:
    """The ids of the user's plans (a few), read once per request: every plan-keyed chart filters by them."""
    cached = getattr(user, "_summary_plan_ids", None)
    if cached is None:
        cached = list(plan_list(user=user).order_by().values_list("pk", flat=True))
        user._summary_plan_ids = cached  # type: ignore[union-attr]
    return cached


def plan_summary_list(
    model: Any, *, user: User, filters: SummaryFilters, period_field: str, grain: int
) -> QuerySet:
    """Summary rows keyed by plan: the user's plans, in the user's locations, filtered, at one grain."""
    qs = model.objects.filter(scope_q(user), grain=grain)
    if not user_sees_all_plans(user):
        qs = qs.filter(benefit_plan_id__in=_user_plan_ids(user))
    if filters.plan_id:
        qs = qs.filter(benefit_plan_id=filters.plan_id)
    if filters.location_path:
        qs = qs.filter(location_path__startswith=filters.location_path)
    if filters.since:
        qs = qs.filter(**{f"{period_field}__gte": filters.since})
    return qs


def beneficiary_summary_list(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> QuerySet[BeneficiarySummary]:
    """Summary rows of beneficiaries of the user's plans in the user's locations, filtered."""
    return plan_summary_list(
        BeneficiarySummary, user=user, filters=filters, period_field="enrolled_month", grain=grain
    )
