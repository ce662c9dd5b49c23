"""Checks of a report's definition against its dataset: each problem keyed to the field that has it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from registry.expressions import ExpressionContext, ExpressionError, check
from registry.expressions.nodes import BOOLEAN, KIND_LABELS, NUMBER
from reports.datasets import Dataset, ReportFieldError, dataset_get

if TYPE_CHECKING:
    from reports.models import Report

MEASURE_WORDS = {"sum": "a sum", "avg": "an average"}


def measure_field_check(report: Report, context: ExpressionContext) -> str:
    """The number field a sum or an average reads, or a ReportFieldError saying what is wrong with it."""
    name = report.measure_field.strip()
    what = MEASURE_WORDS.get(report.measure, "this measure")
    numbers = [v.name for v in context if v.type.kind == NUMBER and not v.is_constant]
    examples = ", ".join(numbers[:8]) + (", ..." if len(numbers) > 8 else "")
    if not name:
        raise ReportFieldError(f"{what.capitalize()} needs a number field, e.g. {examples or 'none here'}")
    variable = context.lookup(name)
    if variable is None:
        try:
            context.get(name)
        except ExpressionError as error:
            hint = "" if " — " in error.message else " (removed from the schema, or misspelt)"
            raise ReportFieldError(f"{error.message}{hint}") from None
    assert variable is not None
    if variable.type.kind != NUMBER:
        found = KIND_LABELS.get(variable.type.kind, variable.type.kind)
        raise ReportFieldError(
            f'"{name}" is {found}, and {what} needs a number field'
            + (f"; number fields of this dataset: {examples}" if examples else "")
        )
    return name


def report_definition_check(report: Report) -> None:
    """A ValidationError per field: unknown dataset or grouping, a sum of text, a filter that cannot parse."""
    errors: dict[str, str] = {}
    try:
        dataset: Dataset = dataset_get(report.dataset)
    except ReportFieldError as error:
        raise ValidationError({"dataset": str(error)}) from None
    plan = report.benefit_plan if report.benefit_plan_id else None
    if plan is not None and not dataset.plan_path:
        errors["benefit_plan"] = f"{dataset.label} are not in a benefit plan: leave the plan empty."
        plan = None
    for field in ("group_by", "series_by"):
        key = getattr(report, field).strip()
        setattr(report, field, key)
        if not key:
            continue
        try:
            dataset.grouping(key, plan)
        except ReportFieldError as error:
            errors[field] = f"{str(error)[0].upper()}{str(error)[1:]}."
    if report.series_by and report.series_by == report.group_by:
        errors["series_by"] = "The second grouping must differ from the first."
    if report.series_by and report.chart_type == "pie":
        errors["chart_type"] = (
            "A pie chart shows one grouping: remove the second grouping or choose bar or line."
        )
    context = dataset.context(plan)
    if report.measure == "count":
        report.measure_field = ""
    else:
        try:
            report.measure_field = measure_field_check(report, context)
        except ReportFieldError as error:
            errors["measure_field"] = f"{str(error)[0].upper()}{str(error)[1:]}."
    text = report.filter_expression.strip()
    if text:
        try:
            check(text, context, expect=BOOLEAN)
        except ExpressionError as error:
            errors["filter_expression"] = f"{error.describe()[0].upper()}{error.describe()[1:]}."
    if errors:
        raise ValidationError(errors)
