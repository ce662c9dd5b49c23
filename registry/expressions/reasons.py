"""Why rows get no value: the database finds the null rows, Python names the cause for each."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from registry.expressions.checker import TypedExpression, check
from registry.expressions.compiler import compile_expression
from registry.expressions.context import CompileEnv, ExpressionContext
from registry.expressions.evaluator import explain_null


def null_reasons(
    queryset: QuerySet[Any],
    expression: str | TypedExpression,
    context: ExpressionContext,
    *,
    today: date | None = None,
) -> dict[Any, str]:
    """{pk: reason} for the rows of `queryset` where `expression` gives null, in two queries'
    worth of work: one to find them with the values of the variables they read, no per-row query."""
    typed = expression if isinstance(expression, TypedExpression) else check(expression, context)
    today = today or timezone.localdate()
    env = CompileEnv(today=today)
    read = sorted(name for name in typed.variables if not context.get(name).is_constant)
    aliases = {f"expression_variable_{index}": name for index, name in enumerate(read)}
    rows = (
        queryset.annotate(expression_result=compile_expression(typed, context, today=today))
        .filter(expression_result__isnull=True)
        .annotate(**{alias: context.get(name).build(env) for alias, name in aliases.items()})
        .values("pk", *aliases)
    )
    reasons = {}
    for row in rows.iterator(chunk_size=2000):
        values = {name: row[alias] for alias, name in aliases.items()}
        reasons[row["pk"]] = explain_null(typed, values, context=context, today=today) or "no value"
    return reasons
