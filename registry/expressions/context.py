"""What an expression may name: typed variables, and the ORM expression reading each for a base model."""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from django.db.models import Expression, ExpressionWrapper, F, Model, Q, Subquery, Value

from registry.expressions.errors import ExpressionError
from registry.expressions.nodes import (
    BOOLEAN,
    T_BOOLEAN,
    T_DATE,
    T_INTEGER,
    T_NUMBER,
    T_STRING,
    ExprType,
    LiteralValue,
    choice_type,
)
from registry.expressions.parser import FUNCTIONS
from registry.expressions.sql import JsonValue, output_field

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
_RESERVED = {"true", "false", "null", "and", "or", "not", "in", "if", *FUNCTIONS}


@dataclass(frozen=True)
class CompileEnv:
    """Where the variables are read from: `prefix` is the ORM path from the queryset's model
    to the model a variable was defined on; `today` is the reference date for ages."""

    today: date
    prefix: str = ""

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def within(self, path: str) -> CompileEnv:
        return replace(self, prefix=f"{self.prefix}{path}__") if path else self


Builder = Callable[[CompileEnv], Expression]
_NO_VALUE = object()


@dataclass(frozen=True)
class ContextVariable:
    """A name an expression may use, its type, and how to read it in the database."""

    name: str
    type: ExprType
    build: Builder
    description: str = ""
    constant: Any = _NO_VALUE  # the value of a named constant, for evaluate()

    @property
    def is_constant(self) -> bool:
        return self.constant is not _NO_VALUE


def column(path: str, expr_type: ExprType) -> Builder:
    """A model field (or a field across foreign keys, `location__code`) read as `expr_type`."""

    def build(env: CompileEnv) -> Expression:
        reference = F(env.path(path))
        # Booleans must be marked conditional to stand alone in if() and WHERE.
        return (
            ExpressionWrapper(reference, output_field=output_field(expr_type))
            if expr_type.kind == BOOLEAN
            else reference
        )

    return build


def type_of_value(value: LiteralValue) -> ExprType:
    if isinstance(value, bool):
        return T_BOOLEAN
    if isinstance(value, int):
        return T_INTEGER
    if isinstance(value, Decimal | float):
        return T_NUMBER
    if isinstance(value, str):
        return T_STRING
    if isinstance(value, date):
        return T_DATE
    raise ExpressionError(
        f"a constant must be a number, text, true/false or a date, not {type(value).__name__}"
    )


def schema_type(spec: Mapping[str, Any]) -> ExprType | None:
    """The expression type of one JSON Schema property, or None when expressions cannot use it."""
    kinds = spec.get("type")
    if isinstance(kinds, list):
        kinds = next((kind for kind in kinds if kind != "null"), None)
    enum = spec.get("enum")
    if enum is not None and kinds in (None, "string") and all(isinstance(v, str) for v in enum):
        labels = spec.get("enumNames") or spec.get("x-enum-labels")
        if isinstance(labels, list) and len(labels) == len(enum):
            return choice_type(list(zip(enum, labels, strict=True)))
        return choice_type(enum)
    if kinds == "integer":
        return T_INTEGER
    if kinds == "number":
        return T_NUMBER
    if kinds == "boolean":
        return T_BOOLEAN
    if kinds == "string":
        return T_DATE if spec.get("format") == "date" else T_STRING
    return None


class ExpressionContext:
    """The variables available to expressions over one base model, and named constants.

    Compose contexts with `include` (across a foreign key path) and `include_related`
    (through a subquery, when no foreign key leads there), optionally under a dotted prefix.
    """

    def __init__(self, variables: Iterable[ContextVariable] = ()) -> None:
        self._variables: dict[str, ContextVariable] = {}
        for variable in variables:
            self._put(variable, replace_existing=False)

    def __contains__(self, name: object) -> bool:
        return name in self._variables

    def __iter__(self) -> Iterator[ContextVariable]:
        return iter(sorted(self._variables.values(), key=lambda v: v.name))

    def __len__(self) -> int:
        return len(self._variables)

    def __repr__(self) -> str:
        return f"<ExpressionContext {', '.join(self.names)}>"

    @property
    def names(self) -> list[str]:
        return sorted(self._variables)

    @property
    def constants(self) -> dict[str, Any]:
        return {v.name: v.constant for v in self._variables.values() if v.is_constant}

    def get(self, name: str) -> ContextVariable:
        try:
            return self._variables[name]
        except KeyError:
            raise ExpressionError(unknown_name_message(name, self.names)) from None

    def lookup(self, name: str) -> ContextVariable | None:
        return self._variables.get(name)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, type, description) rows, for the help shown beside a formula field."""
        rows = []
        for variable in self:
            label = variable.type.label
            if variable.type.choices:
                label = f"{label}: {variable.type.describe_choices()}"
            rows.append((variable.name, label, variable.description))
        return rows

    def add(
        self,
        name: str,
        expr_type: ExprType,
        build: Builder | str,
        *,
        description: str = "",
        replace_existing: bool = False,
    ) -> ExpressionContext:
        """Add a variable: `build` is an ORM path relative to the base model, or a function of the env."""
        builder = column(build, expr_type) if isinstance(build, str) else build
        self._put(ContextVariable(name, expr_type, builder, description), replace_existing=replace_existing)
        return self

    def add_constant(self, name: str, value: Any, *, description: str = "") -> ExpressionContext:
        """A named constant (`base = 300`), compiled as a literal; it may replace a constant, not a field."""
        existing = self._variables.get(name)
        if existing is not None and not existing.is_constant:
            raise ExpressionError(f'the constant "{name}" would hide the field of that name')
        if isinstance(value, float):
            value = Decimal(repr(value))
        expr_type = type_of_value(value)
        field = output_field(expr_type)

        def build(env: CompileEnv) -> Expression:
            return Value(value, output_field=field)

        self._put(ContextVariable(name, expr_type, build, description, constant=value), replace_existing=True)
        return self

    def add_schema_fields(
        self, schema: Mapping[str, Any] | None, *, prefix: str = "data", json_path: str = "data"
    ) -> ExpressionContext:
        """`prefix.<property>` for each property of a JSON Schema whose type expressions can use."""
        for key, spec in ((schema or {}).get("properties") or {}).items():
            name = f"{prefix}.{key}" if prefix else key
            if not isinstance(spec, Mapping) or "." in key or not _is_usable_name(name):
                continue
            expr_type = schema_type(spec)
            if expr_type is None:
                continue
            self.add(
                name,
                expr_type,
                _json_builder(json_path, key, expr_type),
                description=str(spec.get("title") or spec.get("description") or ""),
                replace_existing=True,
            )
        return self

    def include(
        self,
        other: ExpressionContext,
        *,
        path: str = "",
        prefix: str = "",
        names: Iterable[str] | None = None,
        skip_existing: bool = False,
    ) -> ExpressionContext:
        """Take `other`'s variables, read across the foreign key `path` (`"individual"`), named
        `prefix.<name>` when a prefix is given. `names` keeps only matching names (globs allowed)."""
        for variable in other._selected(names):
            build = variable.build if not path else _through_path(variable.build, path)
            self._put(
                replace(variable, name=_join(prefix, variable.name), build=build),
                replace_existing=False,
                skip_existing=skip_existing,
            )
        return self

    def include_related(
        self,
        other: ExpressionContext,
        *,
        model: type[Model],
        link: Callable[[CompileEnv], Q],
        prefix: str = "",
        names: Iterable[str] | None = None,
        skip_existing: bool = False,
    ) -> ExpressionContext:
        """Take `other`'s variables (defined on `model`), each read by a subquery on the one row of
        `model` that `link(env)` selects; link uses OuterRef(env.path(...)) to reach the outer row."""
        for variable in other._selected(names):
            build = variable.build if variable.is_constant else _through_subquery(variable, model, link)
            self._put(
                replace(variable, name=_join(prefix, variable.name), build=build),
                replace_existing=False,
                skip_existing=skip_existing,
            )
        return self

    def _selected(self, names: Iterable[str] | None) -> list[ContextVariable]:
        if names is None:
            return list(self)
        patterns = list(names)
        return [v for v in self if any(fnmatchcase(v.name, pattern) for pattern in patterns)]

    def _put(self, variable: ContextVariable, *, replace_existing: bool, skip_existing: bool = False) -> None:
        if not _is_usable_name(variable.name):
            raise ExpressionError(f'"{variable.name}" cannot be a variable name')
        if variable.name in self._variables and not replace_existing:
            if skip_existing:
                return
            raise ExpressionError(f'the variable "{variable.name}" is defined twice')
        self._variables[variable.name] = variable


def _is_usable_name(name: str) -> bool:
    """Whether expressions can spell `name`: identifiers joined by dots, the first neither a keyword nor
    a function (after a dot, `data.class`, keywords are fine)."""
    first = name.split(".")[0]
    return bool(_NAME.fullmatch(name)) and first not in _RESERVED and not keyword.iskeyword(first)


def unknown_name_message(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    message = f'unknown field "{name}"'
    if close:
        quoted = [f'"{c}"' for c in close]
        listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        message += f" — did you mean {listed}?"
    return message


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _json_builder(json_path: str, key: str, expr_type: ExprType) -> Builder:
    def build(env: CompileEnv) -> Expression:
        return JsonValue(F(env.path(json_path)), key, expr_type.kind)

    return build


def _through_path(build: Builder, path: str) -> Builder:
    def through(env: CompileEnv) -> Expression:
        return build(env.within(path))

    return through


def _through_subquery(
    variable: ContextVariable, model: type[Model], link: Callable[[CompileEnv], Q]
) -> Builder:
    field = output_field(variable.type)

    def through(env: CompileEnv) -> Expression:
        inner = CompileEnv(today=env.today)
        rows = model._default_manager.filter(link(env)).order_by()
        return Subquery(
            rows.annotate(expression_value=variable.build(inner)).values("expression_value")[:1],
            output_field=field,
        )

    return through
