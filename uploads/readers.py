"""Streaming readers of uploaded files: CSV in any common encoding and delimiter, and XLSX checked before it is opened.

Neither reader holds the file in memory: rows are yielded one at a time as
lists of trimmed strings, numbered as a spreadsheet numbers them (header = 1).
The limits (file size, an XLSX's unpacked size and shared strings, rows,
columns, cell and row length) are `files.limits`', checked by `files.readers`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.core.exceptions import ValidationError

from files.limits import RowLimits, file_size_check, limit
from files.readers import XlsxSheet, cell_text, csv_rows, delimiter_detect, line_read

MEGABYTE = 1024 * 1024
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def max_file_bytes() -> int:
    return limit("UPLOADS_MAX_FILE_BYTES")


class Table:
    """An opened file: its header and a one-pass iterator over its data rows."""

    def __init__(
        self,
        header: list[str],
        rows: Iterator[tuple[int, list[str]]],
        *,
        encoding: str = "",
        delimiter: str = "",
        estimated_rows: int | None = None,
        closer: IO | None = None,
    ) -> None:
        self.header = header
        self.rows = rows
        self.encoding = encoding
        self.delimiter = delimiter
        self.estimated_rows = estimated_rows
        self._closer = closer

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()


def table_open(path: str | Path, *, encoding: str = "auto", name: str = "") -> Table:
    """Open a CSV or XLSX file for streaming; raise ValidationError with a clear message when it cannot be read."""
    path = Path(path)
    size = path.stat().st_size
    file_size_check(size)
    if size == 0:
        raise ValidationError("The file is empty.")
    with path.open("rb") as handle:
        head = handle.read(8)
    lower = (name or path.name).lower()
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_open(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError("This is an old Excel .xls file: save it as .xlsx or .csv and upload that.")
    if lower.endswith((".xlsx", ".xlsm")):
        raise ValidationError(
            "The file is named .xlsx but is not an Excel workbook (it is not a zip archive)."
        )
    return _csv_open(path, encoding=encoding, size=size)


# ---- CSV ----------------------------------------------------------------


def encoding_detect(sample: bytes) -> str:
    """The encoding of a CSV file from its first bytes: a BOM, UTF-16's zero bytes, valid UTF-8, else Windows-1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4:
        odd_zeros, even_zeros = sample[1::2].count(0), sample[0::2].count(0)
        if odd_zeros > len(sample) // 4 and even_zeros == 0:
            return "utf-16-le"
        if even_zeros > len(sample) // 4 and odd_zeros == 0:
            return "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason in ("unexpected end of data",):
            return "utf-8"  # the sample cut a character in two
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _python_encoding(chosen: str, sample: bytes) -> str:
    if chosen in ("", "auto"):
        return encoding_detect(sample)
    if chosen == "utf-8":
        return "utf-8-sig"  # a BOM is not part of the first column's name
    return chosen


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(4 * MEGABYTE):
            lines += chunk.count(b"\n")
    return lines


def _csv_open(path: Path, *, encoding: str, size: int) -> Table:
    binary = path.open("rb")
    sample = binary.read(64 * 1024)
    binary.seek(0)
    python_encoding = _python_encoding(encoding, sample)
    text = io.TextIOWrapper(binary, encoding=python_encoding, newline="")
    label = {"utf-8-sig": "utf-8", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(
        python_encoding, python_encoding
    )
    limits = RowLimits.from_settings()
    header_number = 1
    try:
        first_line = line_read(text, limits, header_number)
        while first_line and not first_line.strip():
            header_number += 1
            first_line = line_read(text, limits, header_number)
    except UnicodeDecodeError:
        binary.close()
        raise ValidationError(
            f"The file cannot be read as {label}: choose its encoding (UTF-8, UTF-16, Windows-1252 or Latin-1)."
        ) from None
    if not first_line.strip():
        binary.close()
        raise ValidationError("The file is empty.")
    delimiter = delimiter_detect(first_line)
    try:
        header = [
            cell.strip().lstrip("\ufeff") for cell in next(csv.reader([first_line], delimiter=delimiter))
        ]
    except (csv.Error, StopIteration) as exc:
        binary.close()
        raise ValidationError(f"The header row cannot be read: {exc}.") from None
    estimated = max(_count_lines(path) - 1, 1) if label != "utf-16" else max(size // 200, 1)

    if len(header) > limits.columns:
        binary.close()
        raise limits.too_many_columns(header_number, len(header))

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for number, cells in csv_rows(text, delimiter=delimiter, limits=limits):
                yield number, cells
        except ValidationError:
            raise
        except UnicodeDecodeError:
            raise ValidationError(
                f"Row {number + 1} cannot be read as {label}: the file is in another encoding. "
                "Choose its encoding (UTF-8, UTF-16, Windows-1252 or Latin-1) and upload it again."
            ) from None
        except csv.Error as exc:
            raise ValidationError(f"Row {number + 1} cannot be read: {exc}.") from None
        finally:
            binary.close()

    return Table(header, rows(), encoding=label, delimiter=delimiter, estimated_rows=estimated, closer=binary)


# ---- XLSX ---------------------------------------------------------------


def _xlsx_open(path: Path) -> Table:
    sheet = XlsxSheet(path, limits=RowLimits.from_settings())
    iterator = sheet.rows()
    header_cells = None
    try:
        for _number, header_cells in iterator:
            if any(value not in (None, "") for value in header_cells):
                break
        else:
            header_cells = None
    except ValidationError:
        sheet.close()
        raise
    if not header_cells:
        sheet.close()
        raise ValidationError("The file is empty: its first sheet has no header row.")
    header = [cell_text(value).strip() for value in header_cells]
    while header and not header[-1]:
        header.pop()
    estimated = max((sheet.sheet.max_row or 2) - 1, 1)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in iterator:
                yield number, [cell_text(value) for value in values]
        finally:
            sheet.close()

    return Table(header, rows(), encoding="xlsx", estimated_rows=estimated, closer=sheet)
