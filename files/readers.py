"""Bounded readers of untrusted CSV and XLSX files: rows streamed one at a time, every limit of
`files.limits` checked before memory grows. The uploads pipeline, the location import and the payment
results file use them."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from files.limits import LimitExceeded, RowLimits, file_size_check, xlsx_workbook_open

DELIMITERS = (",", ";", "\t")


def delimiter_detect(first_line: str) -> str:
    """The separator that splits the header the most; a comma when none does."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def line_read(text: IO[str], limits: RowLimits, number: int) -> str:
    """One physical line, refused when longer than a row may be (never reads more than that)."""
    line = text.readline(limits.row_chars + 1)
    if len(line) > limits.row_chars:
        raise limits.row_too_long(number)
    return line


def csv_rows(
    text: IO[str], *, delimiter: str, limits: RowLimits, number: int = 1
) -> Iterator[tuple[int, list[str]]]:
    """The rows after row `number` (the header), each as (its number, its cells), within the limits.

    The csv module reads lines that this function hands it, a row's lines adding up to at most
    UPLOADS_MAX_ROW_CHARS, so no row (however many columns or quoted lines) grows past it."""
    row_chars = 0
    most_chars = limits.row_chars
    last_row = number + limits.rows

    def lines() -> Iterator[str]:
        nonlocal row_chars
        readline = text.readline
        while line := readline(most_chars + 1):
            row_chars += len(line)
            if row_chars > most_chars:
                raise limits.row_too_long(number + 1)
            yield line

    columns, cell_chars = limits.columns, limits.cell_chars
    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        for cells in reader:
            number += 1
            if row_chars > cell_chars or len(cells) > columns:  # only then can a cell be too long
                limits.check(number, cells)
            row_chars = 0
            if number > last_row:
                raise limits.too_many_rows(number - 1)
            yield number, cells
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise limits.cell_too_long(number + 1) from None
        raise


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV would hold: dates in ISO form, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class XlsxSheet:
    """One sheet (the first unless told) of a checked workbook: its raw rows, numbered (header = 1), within
    the limits. `sheet_titles` lists every sheet; `sheet_select` moves to another one (a workbook holding a
    form's repeat groups as sheets)."""

    def __init__(self, path: Path, *, limits: RowLimits) -> None:
        self.limits = limits
        try:
            self.workbook = xlsx_workbook_open(path, limits=limits)
        except ValidationError:
            raise
        except Exception as exc:  # openpyxl raises many kinds on damaged files
            raise ValidationError(
                _("The workbook cannot be opened: %(error)s"),
                params={"error": f"{type(exc).__name__}: {exc}"},
            ) from None
        if not self.workbook.worksheets:
            self.workbook.close()
            raise ValidationError(_("The workbook has no sheet."))
        self.sheet = self.workbook.worksheets[0]

    @property
    def sheet_titles(self) -> list[str]:
        return [sheet.title for sheet in self.workbook.worksheets]

    def sheet_select(self, title: str) -> None:
        self.sheet = self.workbook[title]

    def rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        number = 0
        limits = self.limits
        last_row = limits.rows + 1
        try:
            for values in self.sheet.iter_rows(values_only=True):
                number += 1
                if number > last_row:
                    raise limits.too_many_rows(number - 1)
                limits.check(number, values)  # type: ignore[arg-type]
                yield number, values
        except ValidationError:
            raise
        except Exception as exc:
            raise ValidationError(
                _("Row %(row)s of the sheet cannot be read: %(error)s"),
                params={"row": number + 1, "error": f"{type(exc).__name__}: {exc}"},
            ) from None

    def close(self) -> None:
        self.workbook.close()


def table_read(path: Path, *, name: str = "", rows: int | None = None) -> tuple[list[str], list[list[str]]]:
    """A small CSV (UTF-8) or XLSX file whole, as text cells: its header and rows (the location tree, a
    provider's results). Bounded like an upload; `rows` lowers the row limit for this reader."""
    limits = RowLimits.from_settings(rows=rows)
    file_size_check(path.stat().st_size, name=name or path.name)
    with path.open("rb") as handle:
        zipped = handle.read(4) == b"PK\x03\x04"
    if zipped:
        sheet = XlsxSheet(path, limits=limits)
        try:
            read = [[cell_text(value) for value in values] for _number, values in sheet.rows()]
        finally:
            sheet.close()
        return (read[0] if read else []), read[1:]
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            first = line_read(text, limits, 1)
            delimiter = delimiter_detect(first)
            header = next(csv.reader([first], delimiter=delimiter), [])
            return header, [cells for _number, cells in csv_rows(text, delimiter=delimiter, limits=limits)]
    except UnicodeDecodeError:
        raise ValidationError(_("The file is not UTF-8 text: save it as CSV (UTF-8) or XLSX.")) from None


def content_read(
    content: bytes | str, *, name: str = "", suffix: str = ".csv", rows: int | None = None
) -> tuple[list[str], list[list[str]]]:
    """`table_read` of a file's content held in memory (an import screen has read it already)."""
    file_size_check(len(content), name=name)
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        copy.write(content.encode("utf-8") if isinstance(content, str) else content)
        copy.flush()
        return table_read(Path(copy.name), name=name, rows=rows)


__all__ = ["LimitExceeded", "RowLimits", "XlsxSheet", "cell_text", "content_read", "csv_rows", "table_read"]
