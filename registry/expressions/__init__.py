"""The expression language of filters and formulas: parse, type-check, compile to the ORM, evaluate."""

from registry.expressions.checker import TypedExpression, check
from registry.expressions.compiler import compile_annotation, compile_expression, compile_filter
from registry.expressions.context import (
    CompileEnv,
    ContextVariable,
    ExpressionContext,
    column,
    schema_type,
)
from registry.expressions.contexts import (
    add_current_household,
    add_location_fields,
    household_context,
    household_fields,
    individual_context,
    individual_fields,
    linked_context,
)
from registry.expressions.errors import ExpressionError
from registry.expressions.evaluator import evaluate, explain_null
from registry.expressions.nodes import (
    T_BOOLEAN,
    T_DATE,
    T_INTEGER,
    T_NUMBER,
    T_STRING,
    ExprType,
    Node,
    choice_type,
)
from registry.expressions.parser import parse
from registry.expressions.reasons import null_reasons

__all__ = [
    "T_BOOLEAN",
    "T_DATE",
    "T_INTEGER",
    "T_NUMBER",
    "T_STRING",
    "CompileEnv",
    "ContextVariable",
    "ExprType",
    "ExpressionContext",
    "ExpressionError",
    "Node",
    "TypedExpression",
    "add_current_household",
    "add_location_fields",
    "check",
    "choice_type",
    "column",
    "compile_annotation",
    "compile_expression",
    "compile_filter",
    "evaluate",
    "explain_null",
    "household_context",
    "household_fields",
    "individual_context",
    "individual_fields",
    "linked_context",
    "null_reasons",
    "parse",
    "schema_type",
    "validate_expression",
]


def validate_expression(
    text: str, context: ExpressionContext, *, expect: str | None = None
) -> TypedExpression:
    """check() for a model's clean() or a form: raises django's ValidationError with the located message."""
    from django.core.exceptions import ValidationError

    try:
        return check(text, context, expect=expect)
    except ExpressionError as error:
        raise ValidationError(str(error), code="invalid_expression") from error
