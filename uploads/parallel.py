"""Parsing a large file on every core: worker processes type-check chunks of rows while this one reads the
file and streams their results into the staging table.

Per-row parsing is pure Python and the one part of validation that is not
set-based SQL, so it is what a single core spends its time on. Workers are
forked after the parser is built (locations, converters, schemas loaded), so
they inherit it and never touch the database; they return each chunk as
COPY-ready text. At most a few chunks are in flight, so memory stays flat
whatever the file size.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import connection

from uploads.parsing import RAW_SEPARATOR, RowParser
from uploads.staging import copy_lines, staged_copy_lines

CHUNK_ROWS = 5_000
MIN_ROWS = 30_000  # below this, starting processes costs more than it saves
PROGRESS_EVERY = 20_000

_parser: RowParser | None = None  # set in the parent before forking; the workers inherit it


def workers_count(estimated_rows: int) -> int:
    """How many parsing processes a file of this size gets: none (parse here) for small files or one core."""
    configured = getattr(settings, "UPLOADS_PARSE_WORKERS", None)
    if connection.vendor != "postgresql" or estimated_rows < MIN_ROWS or configured == 0:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cores = _cores()
    if configured is not None:
        return configured
    return min(cores, 4) if cores > 1 else 0


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def rows_copy_text(parser: RowParser, rows: Iterable[tuple[int, list[str]]]) -> tuple[int, str, str]:
    """(rows staged, their COPY text, the errors' COPY text) for these rows."""
    parse = parser.parse
    staged_rows: list[tuple[Any, ...]] = []
    errors: list[tuple[Any, ...]] = []
    for number, cells in rows:
        staged, row_errors = parse(number, cells)
        if not staged:
            continue
        staged_rows.append(staged)
        if row_errors:
            errors.extend((staged[0], number, column, message) for column, message in row_errors)
    return len(staged_rows), staged_copy_lines(staged_rows), copy_lines(errors)


def _chunk_parse(chunk: list[tuple[int, str]]) -> tuple[int, str, str]:
    """In a worker, with the parser inherited from the parent."""
    return rows_copy_text(_parser, ((number, joined.split(RAW_SEPARATOR)) for number, joined in chunk))  # type: ignore[arg-type]


def _chunks(rows: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, str]]]:
    # A row travels as one string (cells joined by the unit separator): pickling a list of
    # lists of cells costs the reading process more than parsing the row costs a worker.
    chunk: list[tuple[int, str]] = []
    join = RAW_SEPARATOR.join
    for number, cells in rows:
        chunk.append((number, join(cells)))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def rows_parse_parallel(
    *,
    parser: RowParser,
    rows: Iterator[tuple[int, list[str]]],
    workers: int,
    write: Callable[[str, str], None],
    progress: Callable[[int], None],
) -> int:
    """Parse `rows` in `workers` processes; `write(rows_text, errors_text)` is called per chunk, in file order."""
    global _parser
    _parser = parser
    context = multiprocessing.get_context("fork")
    staged = 0
    try:
        with context.Pool(processes=workers) as pool:
            pending: deque[Any] = deque()
            reported = 0
            for chunk in _chunks(rows):
                pending.append(pool.apply_async(_chunk_parse, (chunk,)))
                if len(pending) >= workers * 2:
                    staged += _drain(pending.popleft(), write)
                    if staged - reported >= PROGRESS_EVERY:
                        progress(staged)
                        reported = staged
            while pending:
                staged += _drain(pending.popleft(), write)
            progress(staged)
    finally:
        _parser = None
    return staged


def _drain(result: Any, write: Callable[[str, str], None]) -> int:
    count, rows_text, errors_text = result.get()
    write(rows_text, errors_text)
    return count
