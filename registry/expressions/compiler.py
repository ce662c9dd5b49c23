"""Typed tree to Django ORM expressions, evaluated by the database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import date

from django.db.models import BigIntegerField, Case, DecimalField, Expression, Q, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from registry.expressions.checker import TypedExpression, article, check
from registry.expressions.context import CompileEnv, ExpressionContext
from registry.expressions.errors import ExpressionError
from registry.expressions.nodes import (
    BOOLEAN,
    KIND_LABELS,
    NULL,
    NUMBER,
    Binary,
    Call,
    Compare,
    ExprType,
    InList,
    Literal,
    Logical,
    Node,
    Unary,
    Variable,
)
from registry.expressions.sql import (
    BOOLEAN_FIELD,
    DATE_FIELD,
    INTEGER_FIELD,
    DaysBetween,
    InValues,
    Operator,
    SafeDivide,
    StrictExtreme,
    Template,
    WholeYearsBetween,
    output_field,
)

COMPARE_PLACES = 9
_SQL_COMPARISONS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def compile_expression(
    expression: str | TypedExpression,
    context: ExpressionContext,
    *,
    expect: str | None = None,
    today: date | None = None,
) -> Expression:
    """An ORM expression computing `expression` for each row of the context's base model.

    `today` is the reference date for ages and today() (default: today in the site's time zone);
    pass the payment date to make a payroll reproducible.

    NULL means "cannot compute": a missing value, a division by zero. It spreads through arithmetic;
    if() takes the else branch on it; and/or/not follow SQL's three-valued logic. Numbers that are
    not whole are compared to 9 decimal places, so SQLite's binary floats and PostgreSQL's exact
    decimals agree (0.1 + 0.2 == 0.3 holds on both). `null_reasons` says why a row is NULL.
    """
    typed = _typed(expression, context, expect)
    env = CompileEnv(today=today or timezone.localdate())
    compiled = _Compiler(context, env, typed.text).compile(typed.root)
    if typed.type.kind == NUMBER and typed.type.integer:
        return Cast(compiled, BigIntegerField())  # PostgreSQL gives numeric for FLOOR, ROUND...
    return compiled


def compile_filter(
    expression: str | TypedExpression, context: ExpressionContext, *, today: date | None = None
) -> Q:
    """A Q selecting the rows where the condition is true. Rows where it is null drop out of
    both `.filter(q)` and `.filter(~q)`."""
    return Q(compile_expression(expression, context, expect=BOOLEAN, today=today))


def compile_annotation(
    expression: str | TypedExpression,
    context: ExpressionContext,
    *,
    decimal_places: int | None = None,
    today: date | None = None,
) -> Expression:
    """A number per row (an amount, a score), rounded half away from zero when `decimal_places` is given."""
    compiled = compile_expression(expression, context, expect=NUMBER, today=today)
    if decimal_places is None:
        return compiled
    if not 0 <= decimal_places <= 6:
        raise ValueError(f"decimal_places must be from 0 to 6, not {decimal_places}")
    field = DecimalField(max_digits=24, decimal_places=decimal_places)
    return Template("ROUND(<a0>, <places>)", compiled, output=field, places=decimal_places)


def _typed(
    expression: str | TypedExpression, context: ExpressionContext, expect: str | None
) -> TypedExpression:
    if isinstance(expression, TypedExpression):
        if expect is not None and expression.type.kind != expect:
            wanted, found = KIND_LABELS[expect], KIND_LABELS[expression.type.kind]
            raise ExpressionError(
                f"the expression must give {article(wanted)}, but it gives {article(found)}",
                text=expression.text,
                start=expression.root.start,
                end=expression.root.end,
            )
        return expression
    return check(expression, context, expect=expect)


def _round(expression: Expression, places: int) -> Expression:
    return Template("ROUND(<a0>, <places>)", expression, output=output_field(ExprType(NUMBER)), places=places)


class _Compiler:
    def __init__(self, context: ExpressionContext, env: CompileEnv, text: str) -> None:
        self.context = context
        self.env = env
        self.text = text

    def compile(self, node: Node) -> Expression:
        assert node.type is not None, "compile a checked tree"
        field = output_field(node.type)
        if isinstance(node, Literal):
            return Value(node.value, output_field=field)
        if isinstance(node, Variable):
            return self.context.get(node.name).build(self.env)
        if isinstance(node, Unary):
            operand = self.compile(node.operand)  # type: ignore[arg-type]
            if node.op == "not":
                return Template("(NOT <a0>)", operand, output=BOOLEAN_FIELD)
            return Template("(-<a0>)", operand, output=field) if node.op == "-" else operand
        if isinstance(node, Binary):
            return self.binary(node, field)
        if isinstance(node, Logical):
            return Operator(node.op.upper(), *map(self.compile, node.operands), output=BOOLEAN_FIELD)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Call):
            return self.call(node, field)
        raise ExpressionError(f"cannot compile {type(node).__name__}")

    def binary(self, node: Binary, field: object) -> Expression:
        left = self.compile(node.left)  # type: ignore[arg-type]
        right = self.compile(node.right)  # type: ignore[arg-type]
        if node.op in ("+", "-", "*"):
            return Operator(node.op, left, right, output=field)
        if node.op == "/":
            return SafeDivide(left, right)
        if node.op == "//":
            return Template("FLOOR(<a0>)", SafeDivide(left, right), output=field)
        if node.op == "%":
            # Python's sign rule (the remainder takes the divisor's sign), not SQL's truncating MOD.
            quotient = Template("FLOOR(<a0>)", SafeDivide(left, right), output=INTEGER_FIELD)
            return Operator("-", left, Operator("*", right, quotient, output=field), output=field)
        exponent = node.right.value  # type: ignore[union-attr]
        if exponent == 0:
            return Value(1, output_field=field)
        return Operator("*", *([left] * exponent), output=field)  # type: ignore[operator]

    def comparable(self, node: Node, other: Node) -> Expression:
        compiled = self.compile(node)
        both_integer = (
            node.type is not None and node.type.integer and other.type is not None and other.type.integer
        )
        if node.type is not None and node.type.kind == NUMBER and not both_integer:
            return _round(compiled, COMPARE_PLACES)
        return compiled

    def compare(self, node: Compare) -> Expression:
        left, right = node.left, node.right
        assert left is not None and right is not None and left.type and right.type
        if NULL in (left.type.kind, right.type.kind):
            if left.type.kind == right.type.kind:
                return Value(node.op == "==", output_field=BOOLEAN_FIELD)
            subject = self.compile(right if left.type.kind == NULL else left)
            test = "IS NULL" if node.op == "==" else "IS NOT NULL"
            return Template(f"(<a0> {test})", subject, output=BOOLEAN_FIELD)
        sql_op = _SQL_COMPARISONS[node.op]
        return Operator(
            sql_op, self.comparable(left, right), self.comparable(right, left), output=BOOLEAN_FIELD
        )

    def in_list(self, node: InList) -> Expression:
        operand = node.operand
        assert operand is not None
        if not node.items:
            return Value(node.negated, output_field=BOOLEAN_FIELD)
        values = [self.comparable(item, operand) for item in node.items]
        membership = InValues(self.comparable(operand, node.items[0]), *values)
        return Template("(NOT <a0>)", membership, output=BOOLEAN_FIELD) if node.negated else membership

    def call(self, node: Call, field: object) -> Expression:
        name = node.function
        if name == "today":
            return Value(self.env.today, output_field=DATE_FIELD)
        if name == "round":
            places = node.args[1].value if len(node.args) == 2 else 0  # type: ignore[attr-defined]
            return Template("ROUND(<a0>, <places>)", self.compile(node.args[0]), output=field, places=places)
        args = [self.compile(arg) for arg in node.args]
        if name == "if":
            return Case(When(args[0], then=args[1]), default=args[2], output_field=field)
        if name == "coalesce":
            return Coalesce(*args, output_field=field)
        if name in ("min", "max"):
            return StrictExtreme(name, *args, output=field)
        if name == "abs":
            return Template("ABS(<a0>)", args[0], output=field)
        if name == "years_since":
            return WholeYearsBetween(args[0], Value(self.env.today, output_field=DATE_FIELD))
        if name == "days_since":
            return DaysBetween(args[0], Value(self.env.today, output_field=DATE_FIELD))
        raise ExpressionError(f'cannot compile the function "{name}"')
