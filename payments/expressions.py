"""The context of payment formulas and filters: a beneficiary, its person or household, its plan data."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Expression, OuterRef, Subquery

from programs.models import BeneficiaryStatus, BenefitPlan
from registry.expressions import (
    T_INTEGER,
    CompileEnv,
    ExpressionContext,
    ExpressionError,
    check,
    choice_type,
    linked_context,
)
from registry.expressions.sql import INTEGER_FIELD
from registry.models import HouseholdMember


def _current_household_size(env: CompileEnv) -> Expression:
    membership = HouseholdMember.objects.filter(
        individual=OuterRef(env.path("individual")), end_date__isnull=True
    )
    return Subquery(membership.order_by().values("household__size")[:1], output_field=INTEGER_FIELD)


def payment_context(plan: BenefitPlan) -> ExpressionContext:
    """Variables over Beneficiary rows of `plan`; `status` is the beneficiary's, `data.x` its plan data."""
    from registry.schemas import schema_for

    schemas = {"household_schema": schema_for("household"), "individual_schema": schema_for("individual")}
    if plan.is_household:
        context = linked_context(individual_path=None, household_path="household", **schemas)
        # The registry keeps Household.size current: read it instead of counting members per row.
        context.add("household_size", T_INTEGER, "household__size", replace_existing=True)
        context.add("household.household_size", T_INTEGER, "household__size", replace_existing=True)
    else:
        context = linked_context(individual_path="individual", household_path=None, **schemas)
        context.add("household_size", T_INTEGER, _current_household_size, replace_existing=True)
    context.add(
        "status",
        choice_type(BeneficiaryStatus.choices),
        "status",
        description="The beneficiary's status in the plan",
        replace_existing=True,
    )
    context.add_schema_fields(plan.beneficiary_schema)
    return context


def payment_expressions_check(*, plan: BenefitPlan, amount_formula: str, filter_expression: str) -> None:
    """A ValidationError naming the field when the formula is not a number or the filter not a condition."""
    context = payment_context(plan)
    errors = {}
    try:
        check(amount_formula, context, expect="number")
    except ExpressionError as exc:
        errors["amount_formula"] = str(exc)
    if filter_expression.strip():
        try:
            check(filter_expression, context, expect="boolean")
        except ExpressionError as exc:
            errors["filter_expression"] = str(exc)
    if errors:
        raise ValidationError(errors)
