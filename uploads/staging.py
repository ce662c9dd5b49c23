"""Writing staged rows and errors in chunks: COPY on PostgreSQL, executemany elsewhere."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from uploads.models import StagedError, StagedRow
from uploads.parsing import STAGING_COLUMNS

ERROR_COLUMNS = ("batch_id", "row_number", "column", "message")
# COPY's text format: tab-separated, \N for NULL, backslash escapes. PostgreSQL reads it faster than CSV,
# and a row is one `%` of a template when no value holds a tab, line break or backslash.
_STAGED_LINE = "\t".join(["%s"] * len(STAGING_COLUMNS)) + "\n"
_RAW = STAGING_COLUMNS.index("raw")
_NULLABLE = tuple(STAGING_COLUMNS.index(column) for column in ("birth_date", "location_id"))
_JSON = tuple(STAGING_COLUMNS.index(column) for column in ("ind_data", "hh_data", "plan_data"))


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_lines(rows: Iterable[Sequence[Any]]) -> str:
    """Any rows as COPY text, each value escaped."""
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows)


def staged_copy_lines(rows: Iterable[tuple[Any, ...]]) -> str:
    """Parsed rows (STAGING_COLUMNS order) as COPY text.

    Every text value of a parsed row is part of its raw cells or of its JSON texts (names are cells with
    their spaces squeezed, codes and documents are trimmed cells), so a row whose raw cells hold no tab,
    line break or backslash, and whose JSON holds no backslash (json escapes with one), needs no escaping.
    """
    template, raw_at, (birth_at, location_at), (ind_at, hh_at, plan_at) = _STAGED_LINE, _RAW, _NULLABLE, _JSON
    lines = []
    for row in rows:
        raw = row[raw_at]
        if (
            "\\" in raw
            or "\t" in raw
            or "\n" in raw
            or "\r" in raw
            or "\\" in row[ind_at]
            or "\\" in row[hh_at]
            or "\\" in row[plan_at]
        ):
            lines.append("\t".join(map(_copy_value, row)) + "\n")
            continue
        if row[birth_at] is None or row[location_at] is None:
            row = tuple("\\N" if value is None else value for value in row)
        lines.append(template % row)
    return "".join(lines)


def _copy_buffer(table: str, columns: Sequence[str], buffer: io.StringIO) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", buffer)


def _insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)


class StagingWriter:
    """Collects parsed rows and errors and writes them a chunk at a time."""

    def __init__(self, *, chunk_size: int = 20_000) -> None:
        self.chunk_size = chunk_size
        self.rows: list[tuple[Any, ...]] = []
        self.errors: list[tuple[Any, ...]] = []
        self.postgres = connection.vendor == "postgresql"

    def add(self, row: tuple[Any, ...], errors: list[tuple[str, str]]) -> None:
        self.rows.append(row)
        if errors:
            batch_id, number = row[0], row[1]
            self.errors.extend((batch_id, number, column, message) for column, message in errors)
        if len(self.rows) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            if self.postgres:
                self.write_text(staged_copy_lines(self.rows), "")
            else:
                _insert(StagedRow._meta.db_table, STAGING_COLUMNS, self.rows)
            self.rows = []
        if self.errors:
            if self.postgres:
                self.write_text("", copy_lines(self.errors))
            else:
                _insert(StagedError._meta.db_table, ERROR_COLUMNS, self.errors)
            self.errors = []

    def write_text(self, rows_text: str, errors_text: str) -> None:
        """Rows and errors already as COPY text (`staged_copy_lines`, `copy_lines`): PostgreSQL only."""
        for table, columns, text in (
            (StagedRow._meta.db_table, STAGING_COLUMNS, rows_text),
            (StagedError._meta.db_table, ERROR_COLUMNS, errors_text),
        ):
            if text:
                _copy_buffer(table, columns, io.StringIO(text))
