"""Writing staged rows and errors in chunks: COPY on PostgreSQL, executemany elsewhere."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.db import connection

from uploads.models import StagedError, StagedRow
from uploads.parsing import STAGING_COLUMNS

ERROR_COLUMNS = ("batch_id", "row_number", "column", "message")
NULLABLE = {"birth_date", "location_id"}


def _copy(
    table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], *, not_null: Sequence[str]
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    _copy_buffer(table, columns, buffer, not_null=not_null)


def _copy_buffer(table: str, columns: Sequence[str], buffer: io.StringIO, *, not_null: Sequence[str]) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    force = ", ".join(connection.ops.quote_name(column) for column in not_null)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({force}))", buffer
        )


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
            self._write(StagedRow._meta.db_table, STAGING_COLUMNS, self.rows)
            self.rows = []
        if self.errors:
            self._write(StagedError._meta.db_table, ERROR_COLUMNS, self.errors)
            self.errors = []

    def write_text(self, rows_text: str, errors_text: str) -> None:
        """Rows and errors already as COPY text (from the parsing workers): PostgreSQL only."""
        for table, columns, text in (
            (StagedRow._meta.db_table, STAGING_COLUMNS, rows_text),
            (StagedError._meta.db_table, ERROR_COLUMNS, errors_text),
        ):
            if text:
                not_null = [column for column in columns if column not in NULLABLE]
                _copy_buffer(table, columns, io.StringIO(text), not_null=not_null)

    def _write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if self.postgres:
            not_null = [column for column in columns if column not in NULLABLE]
            _copy(table, columns, rows, not_null=not_null)
        else:
            _insert(table, columns, rows)
