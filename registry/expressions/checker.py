"""Type checking: every node gets a type, and mismatches are reported where they occur."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from registry.expressions.context import ExpressionContext, unknown_name_message
from registry.expressions.errors import ExpressionError
from registry.expressions.nodes import (
    BOOLEAN,
    DATE,
    KIND_LABELS,
    NULL,
    NUMBER,
    STRING,
    T_BOOLEAN,
    T_DATE,
    T_INTEGER,
    T_NULL,
    T_NUMBER,
    T_STRING,
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
    children,
    walk,
)
from registry.expressions.parser import parse

EXPECTED_KINDS = (NUMBER, BOOLEAN, STRING, DATE)
# Some constructs repeat an operand in the SQL (x ** 3 is x * x * x); this bounds the SQL's size.
MAX_SQL_SIZE = 2000

_VERBS = {
    "+": "cannot add {l} and {r}",
    "-": "cannot subtract {r} from {l}",
    "*": "cannot multiply {l} by {r}",
    "/": "cannot divide {l} by {r}",
    "//": "cannot divide {l} by {r}",
    "%": "cannot take the remainder of {l} divided by {r}",
    "**": "cannot raise {l} to a power",
}


@dataclass(frozen=True)
class TypedExpression:
    """A checked expression: its text, its typed tree, its result type and the variables it reads."""

    text: str
    root: Node
    type: ExprType
    variables: frozenset[str]


def check(text: str | Node, context: ExpressionContext, *, expect: str | None = None) -> TypedExpression:
    """Parse (if given text) and type-check against `context`; `expect` is the kind the result must
    have ("number" for an amount, "boolean" for a filter)."""
    if expect is not None and expect not in EXPECTED_KINDS:
        raise ValueError(f"expect must be one of {', '.join(EXPECTED_KINDS)}, not {expect!r}")
    source = text if isinstance(text, str) else ""
    root = parse(text) if isinstance(text, str) else copy.deepcopy(text)
    result = _Checker(source, context).type(root)
    if result.kind == NULL:
        raise ExpressionError("the expression is always null", text=source, start=root.start, end=root.end)
    if expect is not None and result.kind != expect:
        wanted, found = article(KIND_LABELS[expect]), article(_label(result))
        raise ExpressionError(
            f"the expression must give {wanted}, but it gives {found}",
            text=source,
            start=root.start,
            end=root.end,
        )
    if sql_size(root) > MAX_SQL_SIZE:
        raise ExpressionError(
            "the expression would expand into too large a query (nested ** or min/max repeat their operands)",
            text=source,
            start=root.start,
            end=root.end,
        )
    names = frozenset(node.name for node in walk(root) if isinstance(node, Variable))
    return TypedExpression(text=source, root=root, type=result, variables=names)


def sql_size(node: Node) -> int:
    """Roughly how many operands the compiled SQL holds, counting the copies some constructs make."""
    if isinstance(node, Binary):
        left, right = sql_size(node.left), sql_size(node.right)  # type: ignore[arg-type]
        if node.op == "**":
            return 1 + left * max(node.right.value, 1)  # type: ignore[union-attr]
        return 1 + (2 * (left + right) if node.op == "%" else left + right)
    parts = sum(sql_size(child) for child in children(node))
    if isinstance(node, Call) and node.function in ("min", "max"):
        return 1 + 2 * parts  # PostgreSQL checks the arguments for NULL, then compares them
    if isinstance(node, Call) and node.function == "years_since":
        return 1 + 3 * parts
    return 1 + parts


def article(label: str) -> str:
    """The label with its article: a number, an integer."""
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _label(expr_type: ExprType) -> str:
    return KIND_LABELS[expr_type.kind]


def literal_type(value: object) -> ExprType:
    if value is None:
        return T_NULL
    if isinstance(value, bool):
        return T_BOOLEAN
    if isinstance(value, int):
        return T_INTEGER
    if isinstance(value, Decimal):
        return T_NUMBER
    if isinstance(value, date):
        return T_DATE
    return T_STRING


class _Checker:
    def __init__(self, text: str, context: ExpressionContext) -> None:
        self.text = text
        self.context = context

    def error(self, message: str, node: Node) -> ExpressionError:
        return ExpressionError(message, text=self.text, start=node.start, end=node.end)

    def type(self, node: Node) -> ExprType:
        node.type = self.infer(node)
        return node.type

    def infer(self, node: Node) -> ExprType:
        if isinstance(node, Literal):
            return literal_type(node.value)
        if isinstance(node, Variable):
            variable = self.context.lookup(node.name)
            if variable is None:
                raise self.error(unknown_name_message(node.name, self.context.names), node)
            return variable.type
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Logical):
            for operand in node.operands:
                self.expect_kind(operand, BOOLEAN, f"`{node.op}` joins conditions (true/false)")
            return T_BOOLEAN
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Call):
            return self.call(node)
        raise self.error(f"unexpected {type(node).__name__}", node)

    def expect_kind(self, node: Node, kind: str, what: str) -> ExprType:
        found = self.type(node)
        if found.kind != kind:
            raise self.error(f"{what}, but got {article(_label(found))}", node)
        return found

    def unary(self, node: Unary) -> ExprType:
        assert node.operand is not None
        if node.op == "not":
            self.expect_kind(node.operand, BOOLEAN, "`not` needs a condition (true/false)")
            return T_BOOLEAN
        return self.expect_kind(node.operand, NUMBER, f"`{node.op}` needs a number")

    def binary(self, node: Binary) -> ExprType:
        assert node.left is not None and node.right is not None
        left, right = self.type(node.left), self.type(node.right)
        if left.kind != NUMBER or right.kind != NUMBER:
            raise self.error(_VERBS[node.op].format(l=_label(left), r=_label(right)), node)
        if node.op == "/":
            return T_NUMBER
        return T_INTEGER if left.integer and right.integer else T_NUMBER

    def compare(self, node: Compare) -> ExprType:
        assert node.left is not None and node.right is not None
        left, right = self.type(node.left), self.type(node.right)
        if NULL in (left.kind, right.kind):
            if node.op not in ("==", "!="):
                raise self.error(f"null can only be compared with == or !=, not {node.op}", node)
            return T_BOOLEAN
        if left.kind != right.kind:
            message = f"cannot compare {_label(left)} with {_label(right)}"
            text = next(
                (n for n in (node.left, node.right) if isinstance(n, Literal) and isinstance(n.value, str)),
                None,
            )
            if {left.kind, right.kind} == {DATE, STRING} and text is not None:
                message += f' — write a date as date("{text.value}")'
            raise self.error(message, node)
        if node.op not in ("==", "!=") and left.kind not in (NUMBER, DATE):
            raise self.error(
                f"{_label(left)} can only be compared with == or != (or `in [...]`), not {node.op}", node
            )
        self.check_choice(node.left, node.right)
        self.check_choice(node.right, node.left)
        return T_BOOLEAN

    def check_choice(self, field: Node, value: Node) -> None:
        if field.type is None or not field.type.choices or not isinstance(value, Literal):
            return
        if value.value not in field.type.choice_values:
            name = field.name if isinstance(field, Variable) else "this value"
            raise self.error(
                f'"{value.value}" is not a possible value of {name}; '
                f"it is one of {field.type.describe_choices()}",
                value,
            )

    def in_list(self, node: InList) -> ExprType:
        assert node.operand is not None
        operand = self.type(node.operand)
        if operand.kind not in (NUMBER, STRING, DATE):
            raise self.error(
                f"`in` needs a number, text or date on its left, not {_label(operand)}", node.operand
            )
        for item in node.items:
            item_type = self.type(item)
            if item_type.kind != operand.kind:
                raise self.error(
                    f"the list holds {article(_label(item_type))} where {_label(operand)} is needed", item
                )
            self.check_choice(node.operand, item)
        return T_BOOLEAN

    def call(self, node: Call) -> ExprType:
        name, args = node.function, node.args
        if name == "if":
            self.expect_kind(args[0], BOOLEAN, "the first argument of if() must be a condition (true/false)")
            return self.unify(args[1:], node, "the two results of if()")
        if name == "coalesce":
            return self.unify(args, node, "the arguments of coalesce()")
        if name in ("min", "max"):
            types = [self.type(arg) for arg in args]
            kinds = {t.kind for t in types}
            if kinds == {NUMBER}:
                return T_INTEGER if all(t.integer for t in types) else T_NUMBER
            if kinds == {DATE}:
                return T_DATE
            raise self.error(f"{name}() compares numbers or dates, all of one kind", node)
        if name == "round":
            self.expect_kind(args[0], NUMBER, "round() needs a number")
            if len(args) == 2:
                self.type(args[1])
            return T_INTEGER if len(args) == 1 or args[1].value == 0 else T_NUMBER  # type: ignore[attr-defined]
        if name == "abs":
            return self.expect_kind(args[0], NUMBER, "abs() needs a number")
        if name == "today":
            return T_DATE
        if name in ("years_since", "days_since"):
            self.expect_kind(args[0], DATE, f"{name}() needs a date")
            return T_INTEGER
        raise self.error(f'unknown function "{name}"', node)

    def unify(self, args: list[Node], node: Node, what: str) -> ExprType:
        types = [self.type(arg) for arg in args]
        kinds = {t.kind for t in types} - {NULL}
        if len(kinds) > 1:
            labels = " and ".join(sorted(KIND_LABELS[k] for k in kinds))
            raise self.error(f"{what} must be of one kind, not {labels}", node)
        if not kinds:
            return T_NULL
        kind = kinds.pop()
        typed = [t for t in types if t.kind != NULL]
        if kind == NUMBER:
            result = T_INTEGER if all(t.integer for t in typed) else T_NUMBER
        elif kind == STRING and all(t.choices for t in typed):
            merged: dict[str, str] = {}
            for t in typed:
                merged.update(dict(t.choices or ()))
            result = ExprType(STRING, choices=tuple(merged.items()))
        else:
            result = ExprType(kind)
        for arg in args:
            if arg.type is not None and arg.type.kind == NULL:
                arg.type = result  # a null branch takes its sibling's type, so SQL knows what it is
        return result
