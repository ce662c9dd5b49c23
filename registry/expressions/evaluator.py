"""A Python evaluator with the database's semantics, for previews and to cross-check the SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal
from typing import Any

from django.utils import timezone

from registry.expressions.checker import TypedExpression, article, check
from registry.expressions.compiler import COMPARE_PLACES
from registry.expressions.context import ExpressionContext
from registry.expressions.errors import ExpressionError
from registry.expressions.nodes import (
    BOOLEAN,
    DATE,
    KIND_LABELS,
    NUMBER,
    STRING,
    Binary,
    Call,
    Compare,
    InList,
    Literal,
    Logical,
    Node,
    Unary,
    Variable,
)

_DECIMALS = Context(prec=40)
_COMPARE_QUANTUM = Decimal(1).scaleb(-COMPARE_PLACES)


def evaluate(
    expression: str | TypedExpression,
    values: Mapping[str, Any],
    *,
    context: ExpressionContext | None = None,
    today: date | None = None,
) -> Any:
    """The value of `expression` for one row whose variables are `values` (name -> value).

    Text needs `context` to be checked; the context's constants fill in names missing from
    `values`. Returns int, Decimal, bool, str, date or None ("cannot compute").
    """
    if isinstance(expression, str):
        if context is None:
            raise ExpressionError("evaluating text needs the context it is checked against")
        expression = check(expression, context)
    known = dict(context.constants) if context is not None else {}
    known.update(values)
    result = _Evaluator(known, today or timezone.localdate(), expression.text).value(expression.root)
    if expression.type.kind == NUMBER and expression.type.integer and result is not None:
        return int(result)
    return result


def _number(value: Any) -> int | Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a true/false value is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return Decimal(value)
    raise TypeError(f"{type(value).__name__} is not a number")


def _coerce(value: Any, kind: str | None) -> Any:
    """A row's value as the evaluator computes with it; TypeError/ValueError when it is not of `kind`."""
    if kind == NUMBER:
        return _number(value)
    if kind == BOOLEAN:
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise TypeError(value)
    if kind == DATE:
        if isinstance(value, str):
            return date.fromisoformat(value)
        if not isinstance(value, date):
            raise TypeError(value)
        return value
    if kind == STRING and not isinstance(value, str):
        raise TypeError(value)
    return value


def _comparable(value: Any, exact: bool) -> Any:
    if exact or not isinstance(value, int | Decimal) or isinstance(value, bool):
        return value
    return Decimal(value).quantize(_COMPARE_QUANTUM, rounding=ROUND_HALF_UP, context=_DECIMALS)


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


class _Evaluator:
    def __init__(self, values: Mapping[str, Any], today: date, text: str) -> None:
        self.values = values
        self.today = today
        self.text = text

    def variable(self, node: Variable) -> Any:
        if node.name not in self.values:
            raise ExpressionError(
                f'no value given for "{node.name}"', text=self.text, start=node.start, end=node.end
            )
        value = self.values[node.name]
        if value is None:
            return None
        kind = node.type.kind if node.type else None
        try:
            return _coerce(value, kind)
        except (TypeError, ValueError, ArithmeticError):
            wanted = KIND_LABELS.get(kind or "", "value")
            raise ExpressionError(
                f'the value given for "{node.name}" is not {article(wanted)}: {value!r}',
                text=self.text,
                start=node.start,
                end=node.end,
            ) from None

    def value(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Variable):
            return self.variable(node)
        if isinstance(node, Unary):
            operand = self.value(node.operand)  # type: ignore[arg-type]
            if operand is None:
                return None
            return (not operand) if node.op == "not" else (-operand if node.op == "-" else operand)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Logical):
            return self.logical(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Call):
            return self.call(node)
        raise ExpressionError(f"cannot evaluate {type(node).__name__}")

    def binary(self, node: Binary) -> Any:
        left, right = self.value(node.left), self.value(node.right)  # type: ignore[arg-type]
        if left is None or right is None:
            return None
        if node.op == "+":
            return (
                _DECIMALS.add(left, right)
                if isinstance(left, Decimal) or isinstance(right, Decimal)
                else left + right
            )
        if node.op == "-":
            return (
                _DECIMALS.subtract(left, right)
                if isinstance(left, Decimal) or isinstance(right, Decimal)
                else left - right
            )
        if node.op == "*":
            return (
                _DECIMALS.multiply(left, right)
                if isinstance(left, Decimal) or isinstance(right, Decimal)
                else left * right
            )
        if node.op == "**":
            result: int | Decimal = 1
            for _ in range(right):
                result = _DECIMALS.multiply(result, left) if isinstance(left, Decimal) else result * left
            return result
        if right == 0:
            return None
        quotient = _DECIMALS.divide(Decimal(left), Decimal(right))
        if node.op == "/":
            return quotient
        if node.op == "//":
            return _floor(quotient)
        return left - right * _floor(quotient)  # "%", with the divisor's sign as in Python

    def logical(self, node: Logical) -> bool | None:
        results = [self.value(operand) for operand in node.operands]
        decisive = node.op == "or"  # True decides an `or`, False an `and`
        if any(result is decisive for result in results):
            return decisive
        return None if any(result is None for result in results) else not decisive

    def compare(self, node: Compare) -> bool | None:
        left, right = self.value(node.left), self.value(node.right)  # type: ignore[arg-type]
        assert node.left is not None and node.right is not None
        if node.left.type and node.right.type and "null" in (node.left.type.kind, node.right.type.kind):
            is_null = (left if node.right.type.kind == "null" else right) is None
            return is_null if node.op == "==" else not is_null
        if left is None or right is None:
            return None
        exact = bool(
            node.left.type and node.left.type.integer and node.right.type and node.right.type.integer
        )
        left, right = _comparable(left, exact), _comparable(right, exact)
        return {
            "==": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]

    def in_list(self, node: InList) -> bool | None:
        if not node.items:
            return node.negated
        operand = self.value(node.operand)  # type: ignore[arg-type]
        if operand is None:
            return None
        exact = bool(node.operand and node.operand.type and node.operand.type.integer) and all(
            isinstance(item.value, int) for item in node.items
        )
        found = _comparable(operand, exact) in {_comparable(item.value, exact) for item in node.items}
        return found != node.negated

    def call(self, node: Call) -> Any:
        name = node.function
        if name == "today":
            return self.today
        if name == "if":
            condition = self.value(node.args[0])
            return self.value(node.args[1] if condition is True else node.args[2])
        if name == "coalesce":
            for arg in node.args:
                result = self.value(arg)
                if result is not None:
                    return result
            return None
        args = [self.value(arg) for arg in node.args]
        if any(arg is None for arg in args):
            return None
        if name == "min":
            return min(args)
        if name == "max":
            return max(args)
        if name == "abs":
            return abs(args[0])
        if name == "round":
            places = args[1] if len(args) == 2 else 0
            return Decimal(args[0]).quantize(
                Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_DECIMALS
            )
        if name == "years_since":
            born: date = args[0]
            on = self.today
            return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        if name == "days_since":
            return (self.today - args[0]).days
        raise ExpressionError(f'cannot evaluate the function "{name}"')


def explain_null(
    expression: str | TypedExpression,
    values: Mapping[str, Any],
    *,
    context: ExpressionContext | None = None,
    today: date | None = None,
) -> str | None:
    """Why `expression` gives null for this row ("division by zero at column 7: 100 / x",
    "data.income has no value"), or None when it does not."""
    if isinstance(expression, str):
        if context is None:
            raise ExpressionError("explaining text needs the context it is checked against")
        expression = check(expression, context)
    known = dict(context.constants) if context is not None else {}
    known.update(values)
    evaluator = _Evaluator(known, today or timezone.localdate(), expression.text)
    node = expression.root
    if evaluator.value(node) is not None:
        return None
    while True:
        if isinstance(node, Variable):
            return f"{node.name} has no value"
        cause = next(
            (child for child in _null_sources(node, evaluator) if evaluator.value(child) is None), None
        )
        if cause is None:
            # Every operand has a value: the node itself is the cause.
            is_division = isinstance(node, Binary) and node.op in ("/", "//", "%")
            reason = "division by zero" if is_division else "no value"
            return ExpressionError(reason, text=expression.text, start=node.start, end=node.end).describe()
        node = cause


def _null_sources(node: Node, evaluator: _Evaluator) -> list[Node]:
    """The children whose null makes `node` null, the taken branch only for if()."""
    if isinstance(node, Call) and node.function == "if":
        return [node.args[1] if evaluator.value(node.args[0]) is True else node.args[2]]
    if isinstance(node, Call) and node.function == "coalesce":
        return node.args[:1]
    if isinstance(node, Unary):
        return [node.operand]  # type: ignore[list-item]
    if isinstance(node, Binary | Compare):
        return [node.left, node.right]  # type: ignore[list-item]
    if isinstance(node, Logical):
        return list(node.operands)
    if isinstance(node, InList):
        return [node.operand]  # type: ignore[list-item]
    if isinstance(node, Call):
        return list(node.args)
    return []
