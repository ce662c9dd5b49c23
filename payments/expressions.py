"""The context of payment formulas and filters: a beneficiary, its person or household, its plan data."""

from __future__ import annotations

from typing import Any

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


# What each function of the language does, for the help beside the formula fields. The list of functions
# itself comes from the parser (`FUNCTIONS`): a function added there shows up here, described or not.
FUNCTION_HELP: dict[str, tuple[str, str]] = {
    "if": ("if(condition, a, b)", "a when the condition holds, else b"),
    "min": ("min(a, b, …)", "the smallest of 2 to 20 numbers or dates"),
    "max": ("max(a, b, …)", "the largest of 2 to 20 numbers or dates"),
    "round": ("round(x, digits)", "x rounded to whole units, or to 0–6 digits after the point"),
    "abs": ("abs(x)", "x without its sign"),
    "date": ('date("2026-01-31")', "a date"),
    "coalesce": ("coalesce(a, b, …)", "the first value that is not empty"),
    "today": ("today()", "the payroll's payment date (the reference date of ages)"),
    "years_since": ("years_since(date)", "whole years from the date to the payment date"),
    "days_since": ("days_since(date)", "days from the date to the payment date"),
}

OPERATORS = (
    ("+ - * / // % **", "arithmetic (// whole division, % remainder, ** small powers)"),
    ("== != < <= > >=", "comparisons, of numbers, text, dates and choices"),
    ("and or not", "conditions"),
    ('x in ["a", "b"]', "one of a list"),
)

# (expression, what it does, which field): each is checked against the plan's context by the tests.
EXAMPLES = (
    ("150 + 25 * min(household_size, 6)", "150, plus 25 per member up to 6 members", "amount_formula"),
    ("if(household_size >= 5, 300, 200)", "300 for households of 5 or more, else 200", "amount_formula"),
    ('status == "active"', "every active beneficiary", "filter_expression"),
    (
        'status == "active" and household_size >= 3',
        "active beneficiaries of 3 members or more",
        "filter_expression",
    ),
)


def payment_expression_help(plan: BenefitPlan) -> dict[str, Any]:
    """Variables, functions, operators and examples of the plan's formulas, from the checker's own context."""
    from registry.expressions.parser import FUNCTIONS

    context = payment_context(plan)
    functions = []
    for name, (lowest, highest) in sorted(FUNCTIONS.items()):
        signature, description = FUNCTION_HELP.get(name, (f"{name}(…)", ""))
        arguments = f"{lowest}" if lowest == highest else f"{lowest} to {highest}"
        functions.append(
            {"name": name, "signature": signature, "description": description, "arguments": arguments}
        )
    return {
        "plan": str(plan),
        "variables": [
            {"name": name, "type": label, "description": description}
            for name, label, description in context.describe()
        ],
        "functions": functions,
        "operators": [{"operator": op, "description": text} for op, text in OPERATORS],
        "examples": [
            {"expression": text, "description": description, "field": field}
            for text, description, field in EXAMPLES
        ],
    }
