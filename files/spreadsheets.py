"""The one spreadsheet writer: every CSV and XLSX the portal writes goes through here.

Cells are made safe for spreadsheet programs, as OWASP's CSV-injection guidance
says: text beginning with `=`, `+`, `-`, `@`, tab or carriage return would be run
as a formula. In CSV such text gets a leading `'`; a plain signed number written
as text (`+254700000001`, `-12.5`) holds no formula and is left as it is. In XLSX
every cell is typed: numbers, dates and booleans stay typed, text is a string
cell (never a formula; formula-like text carries Excel's "quote prefix" so it
stays text when edited, with no visible apostrophe), so phone numbers and IDs
keep their `+` and leading zeros. Both write row by row: CSV streams, XLSX uses
openpyxl's write-only mode, whose rows go to a temporary file, not to memory.
`tests/files/test_writers.py` fails when code elsewhere writes a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_START_CHARS = frozenset("=+-@\t\r")
# A sign, digits and at most one decimal point: no formula can hide in it.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLAIN_TYPES = (int, float, bool, Decimal)
# Written as they are: their text never begins with a formula character.
AS_IS_IN_CSV = frozenset({int, float, bool, Decimal, date, datetime, type(None)})
BOM = "\ufeff"  # makes Excel read the CSV as UTF-8
ROWS_PER_PIECE = 1000  # rows per piece of a streamed CSV


def formula_like(text: str) -> bool:
    """True when a spreadsheet would read this text as a formula (OWASP's list of leading characters)."""
    return text[:1] in FORMULA_START_CHARS and not PLAIN_NUMBER.match(text)


def _text(value: Any) -> Any:
    """Lists and objects (custom-field values) as JSON text; everything else unchanged."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def csv_cell(value: Any) -> Any:
    """A value as the CSV writer receives it: numbers and empty cells as they are, anything else as text,
    formula-like text with a leading apostrophe."""
    if value is None or value.__class__ in PLAIN_TYPES:
        return value
    text = _text(value)
    text = text if text.__class__ is str else str(text)
    if text[:1] in FORMULA_START_CHARS and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _csv_row(row: Iterable[Any]) -> list[Any]:
    """`csv_cell` of each value, the common kinds decided inline (this runs for every cell of an export)."""
    starts, as_is, match = FORMULA_START_CHARS, AS_IS_IN_CSV, PLAIN_NUMBER.match
    cells: list[Any] = []
    append = cells.append
    for value in row:
        kind = value.__class__
        if kind is str:
            append("'" + value if value[:1] in starts and not match(value) else value)
        elif kind in as_is:
            append(value)
        else:
            append(csv_cell(value))
    return cells


def csv_stream(
    headers: Sequence[Any] | None, rows: Iterable[Sequence[Any]], *, bom: bool = True, delimiter: str = ","
) -> Iterator[str]:
    """The CSV text in pieces of ROWS_PER_PIECE rows (for a StreamingHttpResponse or a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if headers is not None:
        writer.writerow(_csv_row(headers))
    first = (BOM if bom else "") + buffer.getvalue()
    if first:
        yield first
    buffer.seek(0)
    buffer.truncate()
    count = 0
    for row in rows:
        writer.writerow(_csv_row(row))
        count += 1
        if count == ROWS_PER_PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if count:
        yield buffer.getvalue()


def csv_text(headers: Sequence[Any] | None, rows: Iterable[Sequence[Any]], *, bom: bool = True) -> str:
    """The whole CSV as one string (small files: a report, a template)."""
    return "".join(csv_stream(headers, rows, bom=bom))


def csv_write(
    target: IO[str] | str | Path,
    headers: Sequence[Any] | None,
    rows: Iterable[Sequence[Any]],
    *,
    bom: bool = True,
) -> int:
    """Write the CSV to an open text file (opened with newline="") or a path; returns the data rows' count."""
    count = 0

    def counted() -> Iterator[Sequence[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    if isinstance(target, (str, Path)):
        with Path(target).open("w", newline="", encoding="utf-8") as handle:
            for piece in csv_stream(headers, counted(), bom=bom):
                handle.write(piece)
        return count
    for piece in csv_stream(headers, counted(), bom=bom):
        target.write(piece)
    return count


# ---- XLSX ---------------------------------------------------------------


@dataclass
class Sheet:
    """One sheet of a workbook: its title, header row, rows (any iterable, read once) and column widths."""

    title: str
    headers: Sequence[Any] | None
    rows: Iterable[Sequence[Any]]
    widths: Sequence[float] | None = None


def sheet_title(text: str) -> str:
    """A name Excel accepts for a sheet: at most 31 characters, none of : \\ / ? * [ ]."""
    cleaned = re.sub(r"[:\\/?*\[\]]", "-", text).strip("'")[:31]
    return cleaned or "Sheet"


def _string_cell(sheet: Any, text: str) -> Any:
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)  # control characters Excel refuses
    if text[:1] not in FORMULA_START_CHARS:
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl makes "=..." a formula: here it is text
    cell.quotePrefix = True  # and stays text when someone edits it in Excel
    return cell


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A value as a typed cell: numbers, dates and booleans typed, everything else a string cell."""
    if value is None or value.__class__ in (int, float, bool, Decimal):
        return value
    if value.__class__ is str:
        return _string_cell(sheet, value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones
        return value
    if isinstance(value, (date, time, int, float, Decimal)):
        return value
    return _string_cell(sheet, str(_text(value)))


def xlsx_write(target: str | Path | IO[bytes], sheets: Sequence[Sheet]) -> int:
    """Write a write-only workbook (rows stream to a temporary file); returns the number of data rows."""
    workbook = Workbook(write_only=True)
    count = 0
    for spec in sheets:
        sheet = workbook.create_sheet(sheet_title(spec.title))
        for index, width in enumerate(spec.widths or (), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if spec.headers is not None:
            sheet.freeze_panes = "A2"
            header = []
            for name in spec.headers:
                cell = WriteOnlyCell(sheet, value=None)
                cell.value = "" if name is None else str(name)
                cell.data_type = "s"
                cell.font = Font(bold=True)
                if cell.value[:1] in FORMULA_START_CHARS:
                    cell.quotePrefix = True
                header.append(cell)
            sheet.append(header)
        for row in spec.rows:
            sheet.append([xlsx_cell(sheet, value) for value in row])
            count += 1
    workbook.save(target)
    return count


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The workbook as bytes (small files; large ones go to a file with `xlsx_write`)."""
    out = io.BytesIO()
    xlsx_write(out, sheets)
    return out.getvalue()


def column_widths(rows: Iterable[Sequence[Any]], *, minimum: float = 8, maximum: float = 80) -> list[float]:
    """Widths that fit the longest text of each column (for small sheets such as a template's guide)."""
    widths: list[float] = []
    for row in rows:
        for index, value in enumerate(row):
            length = len(str(value)) if value is not None else 0
            if index >= len(widths):
                widths.append(minimum)
            widths[index] = min(max(widths[index], length + 2), maximum)
    return widths
