"""Streaming readers of uploaded files: CSV in any common encoding and delimiter, and XLSX checked before it is opened.

Neither reader holds the file in memory: rows are yielded one at a time as
lists of trimmed strings, numbered as a spreadsheet numbers them (header = 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError

MEGABYTE = 1024 * 1024
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
XML_SUFFIXES = (".xml", ".rels", ".vml")


def max_file_bytes() -> int:
    return int(getattr(settings, "UPLOADS_MAX_FILE_BYTES", 150 * MEGABYTE))


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


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
    limit = max_file_bytes()
    if size > limit:
        raise ValidationError(
            f"The file is {size / MEGABYTE:,.0f} MB; files may be at most {limit / MEGABYTE:,.0f} MB. "
            "Split it into smaller files."
        )
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


def delimiter_detect(first_line: str) -> str:
    """The separator that splits the header the most; a comma when none does."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


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
    try:
        first_line = text.readline()
        while first_line and not first_line.strip():
            first_line = text.readline()
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

    def rows() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(text, delimiter=delimiter)
        number = 1
        try:
            for cells in reader:
                number += 1
                yield number, cells
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


def xlsx_check(path: Path) -> None:
    """Refuse zip bombs and XML with a DTD or entities before openpyxl opens anything."""
    max_entries = _limit("UPLOADS_XLSX_MAX_ENTRIES", 2000)
    max_unpacked = _limit("UPLOADS_XLSX_MAX_UNPACKED_BYTES", 2048 * MEGABYTE)
    max_ratio = _limit("UPLOADS_XLSX_MAX_RATIO", 200)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ValidationError("The file is not a valid XLSX workbook (its zip archive is damaged).") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_entries:
            raise ValidationError(
                f"The workbook holds {len(entries):,} parts (at most {max_entries:,}): it is not a plain spreadsheet."
            )
        unpacked = sum(entry.file_size for entry in entries)
        if unpacked > max_unpacked:
            raise ValidationError(
                f"The workbook unpacks to {unpacked / MEGABYTE:,.0f} MB (at most {max_unpacked / MEGABYTE:,.0f} MB): "
                "refused as a possible zip bomb. Save it as CSV or split it."
            )
        for entry in entries:
            if entry.file_size > MEGABYTE and entry.file_size > max_ratio * max(entry.compress_size, 1):
                raise ValidationError(
                    f"The workbook part {entry.filename} is compressed {entry.file_size // max(entry.compress_size, 1):,} "
                    "times: refused as a possible zip bomb."
                )
        if "xl/workbook.xml" not in {entry.filename for entry in entries}:
            raise ValidationError("The file is a zip archive but not an XLSX workbook (no xl/workbook.xml).")
        for entry in entries:
            if entry.filename.lower().endswith(XML_SUFFIXES):
                try:
                    with archive.open(entry) as part:
                        start = part.read(4096).upper()
                except (zipfile.BadZipFile, OSError, RuntimeError):
                    raise ValidationError(f"The workbook part {entry.filename} cannot be read.") from None
                if b"<!DOCTYPE" in start or b"<!ENTITY" in start:
                    raise ValidationError(
                        f"The workbook part {entry.filename} declares a DTD or entities (possible external "
                        "entity attack): refused. Save the file again from a spreadsheet program."
                    )


def _cell_text(value: object) -> str:
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


def _xlsx_open(path: Path) -> Table:
    xlsx_check(path)
    from openpyxl import load_workbook  # uses defusedxml for every part once defusedxml is installed

    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise ValidationError(f"The workbook cannot be opened: {type(exc).__name__}: {exc}") from None
    if not workbook.worksheets:
        workbook.close()
        raise ValidationError("The workbook has no sheet.")
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    header_cells = None
    try:
        for header_cells in iterator:
            if any(value not in (None, "") for value in header_cells):
                break
        else:
            header_cells = None
    except Exception as exc:
        workbook.close()
        raise ValidationError(f"The first sheet cannot be read: {type(exc).__name__}: {exc}") from None
    if not header_cells:
        workbook.close()
        raise ValidationError("The file is empty: its first sheet has no header row.")
    header = [_cell_text(value).strip() for value in header_cells]
    while header and not header[-1]:
        header.pop()
    estimated = max((sheet.max_row or 2) - 1, 1)

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for values in iterator:
                number += 1
                yield number, [_cell_text(value) for value in values]
        except ValidationError:
            raise
        except Exception as exc:
            raise ValidationError(
                f"Row {number + 1} of the sheet cannot be read: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            workbook.close()

    return Table(header, rows(), encoding="xlsx", estimated_rows=estimated, closer=workbook)
