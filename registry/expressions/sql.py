"""ORM expressions the compiler emits, each written to give the same result on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from django.db import NotSupportedError
from django.db.models import BooleanField, DateField, DecimalField, Expression, Func, IntegerField, TextField

from registry.expressions.nodes import BOOLEAN, DATE, NUMBER, STRING, ExprType

INTEGER_FIELD = IntegerField()
DECIMAL_FIELD = DecimalField(max_digits=30, decimal_places=12)
BOOLEAN_FIELD = BooleanField()
TEXT_FIELD = TextField()
DATE_FIELD = DateField()


def output_field(expr_type: ExprType) -> Any:
    if expr_type.kind == NUMBER:
        return INTEGER_FIELD if expr_type.integer else DECIMAL_FIELD
    return {BOOLEAN: BOOLEAN_FIELD, STRING: TEXT_FIELD, DATE: DATE_FIELD}.get(expr_type.kind, TEXT_FIELD)


def _unsupported(connection: Any) -> NotSupportedError:
    return NotSupportedError(f"expressions run on SQLite and PostgreSQL only, not {connection.vendor}")


_PLACEHOLDER = re.compile(r"<(\w+)>")


class PortableFunc(Func):
    """A Func whose SQL is written per vendor; any other database is refused by name."""

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise _unsupported(connection)

    def compile_args(self, compiler: Any, connection: Any) -> tuple[list[str], list[Any]]:
        sqls, params = [], []
        for expression in self.get_source_expressions():
            sql, arg_params = compiler.compile(expression)
            sqls.append(sql)
            params.extend(arg_params)
        return sqls, params

    def render(self, template: str, compiler: Any, **extra_params: Any) -> tuple[str, list[Any]]:
        """Fill `<name>` placeholders with the compiled arguments (`<a0>`, `<a1>`...) or extra
        parameters, taking parameters in the order the placeholders appear."""
        parts = {f"a{index}": compiler.compile(e) for index, e in enumerate(self.get_source_expressions())}
        params: list[Any] = []

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in parts:
                sql, part_params = parts[name]
                params.extend(part_params)
                return sql
            params.append(extra_params[name])
            return "%s"

        return _PLACEHOLDER.sub(fill, template), params


class JsonValue(PortableFunc):
    """One key of a JSON column, typed: values of another JSON type read as NULL, never as an error."""

    def __init__(self, column: Expression, key: str, kind: str) -> None:
        self.key = key
        self.kind = kind
        field = {NUMBER: DECIMAL_FIELD, BOOLEAN: BOOLEAN_FIELD, DATE: DATE_FIELD}.get(kind, TEXT_FIELD)
        super().__init__(column, output_field=field)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        kind, value = "JSON_TYPE(<a0>, <path>)", "JSON_EXTRACT(<a0>, <path>)"
        templates = {
            NUMBER: f"(CASE WHEN {kind} IN ('integer', 'real') THEN {value} END)",
            BOOLEAN: f"(CASE {kind} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)",
            DATE: f"(CASE WHEN {kind} = 'text' AND {value} GLOB "
            f"'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN {value} END)",
            STRING: f"(CASE WHEN {kind} = 'text' THEN {value} END)",
        }
        path = '$."{}"'.format(self.key.replace('"', '\\"'))
        return self.render(templates[self.kind], compiler, path=path)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        kind, text = "JSONB_TYPEOF(<a0> -> <key>)", "(<a0> ->> <key>)"
        templates = {
            NUMBER: f"(CASE WHEN {kind} = 'number' THEN CAST({text} AS NUMERIC) END)",
            BOOLEAN: f"(CASE WHEN {kind} = 'boolean' THEN {text} = 'true' END)",
            DATE: f"(CASE WHEN {kind} = 'string' AND {text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'"
            f" THEN CAST({text} AS DATE) END)",
            STRING: f"(CASE WHEN {kind} = 'string' THEN {text} END)",
        }
        return self.render(templates[self.kind], compiler, key=self.key)


class SafeDivide(PortableFunc):
    """a / b in decimal arithmetic, NULL when b is 0 (so the row can be held, not the whole query fail)."""

    def __init__(self, dividend: Expression, divisor: Expression) -> None:
        super().__init__(dividend, divisor, output_field=DECIMAL_FIELD)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render("(CAST(<a0> AS REAL) / NULLIF(<a1>, 0))", compiler)  # else 7 / 2 is 3

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render("(CAST(<a0> AS NUMERIC) / NULLIF(<a1>, 0))", compiler)


class Operator(PortableFunc):
    """`a <op> b <op> c` for SQL operators spelled the same on both databases."""

    def __init__(self, operator: str, *operands: Expression, output: Any) -> None:
        self.operator = operator
        super().__init__(*operands, output_field=output)

    def portable_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sqls, params = self.compile_args(compiler, connection)
        return "(" + f" {self.operator} ".join(sqls) + ")", params

    as_sqlite = as_postgresql = portable_sql


class Template(PortableFunc):
    """A fixed SQL template over the operands, the same on both databases (`(NOT <a0>)`)."""

    def __init__(self, template: str, *operands: Expression, output: Any, **params: Any) -> None:
        self.sql_template = template
        self.params = params
        super().__init__(*operands, output_field=output)

    def portable_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render(self.sql_template, compiler, **self.params)

    as_sqlite = as_postgresql = portable_sql


class InValues(PortableFunc):
    """`a IN (v1, v2, ...)`: NULL when a is NULL, as SQL has it."""

    def __init__(self, operand: Expression, *values: Expression) -> None:
        super().__init__(operand, *values, output_field=BOOLEAN_FIELD)

    def portable_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        (operand, *values), params = self.compile_args(compiler, connection)
        return f"({operand} IN ({', '.join(values)}))", params

    as_sqlite = as_postgresql = portable_sql


class StrictExtreme(PortableFunc):
    """min()/max() of several values, NULL if any is NULL (PostgreSQL's LEAST/GREATEST skip NULLs)."""

    def __init__(self, function: str, *values: Expression, output: Any) -> None:
        self.extreme = function  # "min" or "max"
        super().__init__(*values, output_field=output)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sqls, params = self.compile_args(compiler, connection)
        return f"{self.extreme.upper()}({', '.join(sqls)})", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sqls, params = self.compile_args(compiler, connection)
        function = "LEAST" if self.extreme == "min" else "GREATEST"
        joined = ", ".join(sqls)
        return f"(CASE WHEN NUM_NULLS({joined}) > 0 THEN NULL ELSE {function}({joined}) END)", params * 2


class WholeYearsBetween(PortableFunc):
    """Whole years from `start` to `end` (an age): year difference, less one before the anniversary."""

    def __init__(self, start: Expression, end: Expression) -> None:
        super().__init__(start, end, output_field=INTEGER_FIELD)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render(
            "(CAST(STRFTIME('%%Y', <a1>) AS INTEGER) - CAST(STRFTIME('%%Y', <a0>) AS INTEGER)"
            " - (STRFTIME('%%m%%d', <a1>) < STRFTIME('%%m%%d', <a0>)))",
            compiler,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render(
            "CAST(EXTRACT(YEAR FROM <a1>) - EXTRACT(YEAR FROM <a0>) - CASE WHEN"
            " EXTRACT(MONTH FROM <a1>) * 100 + EXTRACT(DAY FROM <a1>)"
            " < EXTRACT(MONTH FROM <a0>) * 100 + EXTRACT(DAY FROM <a0>) THEN 1 ELSE 0 END AS INTEGER)",
            compiler,
        )


class DaysBetween(PortableFunc):
    """Whole days from `start` to `end`."""

    def __init__(self, start: Expression, end: Expression) -> None:
        super().__init__(start, end, output_field=INTEGER_FIELD)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render("CAST(JULIANDAY(<a1>) - JULIANDAY(<a0>) AS INTEGER)", compiler)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.render("(CAST(<a1> AS DATE) - CAST(<a0> AS DATE))", compiler)
