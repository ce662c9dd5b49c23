"""The whitelisted expression tree, and the types its nodes carry once checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

NUMBER = "number"
BOOLEAN = "boolean"
STRING = "string"
DATE = "date"
NULL = "null"

KIND_LABELS = {NUMBER: "number", BOOLEAN: "true/false", STRING: "text", DATE: "date", NULL: "null"}

LiteralValue = int | Decimal | bool | str | date | None


@dataclass(frozen=True)
class ExprType:
    """The type of a value: its kind, whether a number is whole, and the allowed values of a choice."""

    kind: str
    integer: bool = False
    choices: tuple[tuple[str, str], ...] | None = None  # (value, label) pairs

    @property
    def label(self) -> str:
        if self.kind == NUMBER and self.integer:
            return "whole number"
        if self.choices is not None:
            return "choice"
        return KIND_LABELS[self.kind]

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices or ())

    def describe_choices(self) -> str:
        return ", ".join(
            f'"{value}"' if label in ("", value) else f'"{value}" ({label})'
            for value, label in self.choices or ()
        )


T_NUMBER = ExprType(NUMBER)
T_INTEGER = ExprType(NUMBER, integer=True)
T_BOOLEAN = ExprType(BOOLEAN)
T_STRING = ExprType(STRING)
T_DATE = ExprType(DATE)
T_NULL = ExprType(NULL)


def choice_type(choices: object) -> ExprType:
    """A text type limited to `choices`: Django choices pairs, or a list of plain values."""
    pairs = tuple(
        (str(item[0]), str(item[1])) if isinstance(item, list | tuple) else (str(item), str(item))
        for item in choices  # type: ignore[attr-defined]
    )
    return ExprType(STRING, choices=pairs)


@dataclass(eq=False)
class Node:
    """A node of the tree: `start`/`end` are character offsets into the expression's text."""

    start: int
    end: int
    type: ExprType | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Literal(Node):
    value: LiteralValue = None


@dataclass(eq=False)
class Variable(Node):
    name: str = ""


@dataclass(eq=False)
class Unary(Node):
    op: str = ""  # "-", "+", "not"
    operand: Node | None = None


@dataclass(eq=False)
class Binary(Node):
    op: str = ""  # "+", "-", "*", "/", "//", "%", "**"
    left: Node | None = None
    right: Node | None = None


@dataclass(eq=False)
class Logical(Node):
    op: str = ""  # "and", "or"
    operands: list[Node] = field(default_factory=list)


@dataclass(eq=False)
class Compare(Node):
    op: str = ""  # "==", "!=", "<", "<=", ">", ">="
    left: Node | None = None
    right: Node | None = None


@dataclass(eq=False)
class InList(Node):
    operand: Node | None = None
    items: list[Literal] = field(default_factory=list)
    negated: bool = False


@dataclass(eq=False)
class Call(Node):
    function: str = ""
    args: list[Node] = field(default_factory=list)


def children(node: Node) -> list[Node]:
    if isinstance(node, Unary):
        return [node.operand]  # type: ignore[list-item]
    if isinstance(node, Binary | Compare):
        return [node.left, node.right]  # type: ignore[list-item]
    if isinstance(node, Logical):
        return list(node.operands)
    if isinstance(node, InList):
        return [node.operand, *node.items]  # type: ignore[list-item]
    if isinstance(node, Call):
        return list(node.args)
    return []


def walk(node: Node) -> list[Node]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children(current))
    return found
