"""Payment plans: saving one (formula and filter type-checked), the beneficiaries a payroll of it pays and
their amounts as database expressions, and the preview of what a payroll would pay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Round
from django.utils import timezone

from access.plans import user_can_view_plan
from payments.expressions import payment_context, payment_expressions_check
from payments.models import PaymentPlan, PaymentPoint
from payments.services.checks import User, money, require_permission, require_plan
from payments.services.points import payment_scope, served_location_ids
from programs.models import Beneficiary
from registry.expressions import ExpressionError, compile_expression, compile_filter

SAMPLE_SIZE = 20


@transaction.atomic
def payment_plan_save(*, user: User, payment_plan: PaymentPlan) -> PaymentPlan:
    """Create or change a payment plan; the formula and filter are type-checked first."""
    adding = payment_plan.pk is None
    require_permission(
        user, "payments.add_paymentplan" if adding else "payments.change_paymentplan", "edit payment plans"
    )
    require_plan(user, payment_plan.benefit_plan)
    payment_plan.full_clean()
    payment_plan.save()
    return payment_plan


def payment_beneficiaries(
    *,
    payment_plan: PaymentPlan,
    payment_point: PaymentPoint | None,
    filter_expression: str,
    scope_paths: list[str] | None = None,
) -> QuerySet[Beneficiary]:
    """The plan's beneficiaries the filter keeps, in locations both the point serves and the scope covers."""
    context = payment_context(payment_plan.benefit_plan)
    rows = Beneficiary.objects.filter(benefit_plan=payment_plan.benefit_plan)
    try:
        if filter_expression.strip():
            rows = rows.filter(compile_filter(filter_expression, context))
    except ExpressionError as exc:
        raise ValidationError({"filter_expression": str(exc)}) from None
    location_ids = served_location_ids(payment_point=payment_point, scope_paths=scope_paths)
    if location_ids is not None:
        rows = rows.filter(location_id__in=location_ids) if location_ids else rows.none()
    return rows


def payment_amount(payment_plan: PaymentPlan, formula: str, today: date) -> Any:
    """The formula as a database expression over a beneficiary row, rounded to cents."""
    try:
        return Round(
            compile_expression(
                formula, payment_context(payment_plan.benefit_plan), expect="number", today=today
            ),
            2,
        )
    except ExpressionError as exc:
        raise ValidationError({"amount_formula": str(exc)}) from None


@dataclass
class PaymentPreview:
    count: int
    total: Decimal
    minimum: Decimal | None
    maximum: Decimal | None
    average: Decimal | None
    held_above_limit: int
    without_amount: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    scope: str = "every location of the plan"
    above_ceiling: int = 0  # lines the plan's ceiling per beneficiary will cap or hold


def payment_plan_preview(
    *,
    user: User,
    payment_plan: PaymentPlan,
    amount_formula: str | None = None,
    filter_expression: str | None = None,
    payment_point: PaymentPoint | None = None,
    today: date | None = None,
) -> PaymentPreview:
    """Count, total, min/max/average and a sample of what a payroll would pay, computed in the database."""
    plan = payment_plan.benefit_plan
    if not user_can_view_plan(user, plan):
        raise ValidationError(f"You may not see {plan}.")
    formula = payment_plan.amount_formula if amount_formula is None else amount_formula
    condition = payment_plan.filter_expression if filter_expression is None else filter_expression
    payment_expressions_check(plan=plan, amount_formula=formula, filter_expression=condition)
    today = today or timezone.localdate()
    scope = payment_scope(user=user)
    rows = payment_beneficiaries(
        payment_plan=payment_plan,
        payment_point=payment_point,
        filter_expression=condition,
        scope_paths=scope.paths,
    ).annotate(payment_amount=payment_amount(payment_plan, formula, today))
    limit = payment_plan.per_transaction_limit
    figures = rows.order_by().aggregate(
        count=Count("pk"),
        total=Sum("payment_amount"),
        minimum=Min("payment_amount"),
        maximum=Max("payment_amount"),
        average=Avg("payment_amount"),
        without_amount=Count("pk", filter=Q(payment_amount__isnull=True)),
        above=Count("pk", filter=Q(payment_amount__gt=limit))
        if limit is not None
        else Count("pk", filter=Q(pk__in=[])),
        above_ceiling=Count("pk", filter=Q(payment_amount__gt=plan.ceiling_per_beneficiary))
        if plan.ceiling_per_beneficiary is not None
        else Count("pk", filter=Q(pk__in=[])),
    )
    sample = [
        {
            "beneficiary": row["pk"],
            "who": row["household__code"]
            or f"{row['individual__given_name']} {row['individual__family_name']}",
            "amount": None if row["payment_amount"] is None else money(row["payment_amount"]),
        }
        for row in rows.order_by("pk").values(
            "pk", "household__code", "individual__given_name", "individual__family_name", "payment_amount"
        )[:SAMPLE_SIZE]
    ]

    def optional(value: Any) -> Decimal | None:
        return None if value is None else money(value)

    return PaymentPreview(
        count=figures["count"],
        total=optional(figures["total"]) or Decimal("0.00"),
        minimum=optional(figures["minimum"]),
        maximum=optional(figures["maximum"]),
        average=optional(figures["average"]),
        held_above_limit=figures["above"],
        without_amount=figures["without_amount"],
        sample=sample,
        scope=scope.label(),
        above_ceiling=figures["above_ceiling"],
    )
