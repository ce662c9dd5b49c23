"""Limits on untrusted spreadsheet files, checked before memory grows: the one place every reader asks.

Each limit is a setting read from the environment (portal/settings.py, README's
configuration table). A file over a limit is refused with a `LimitExceeded`
(a ValidationError) naming the limit and the setting that changes it.

An XLSX file is a zip of XML parts. Before openpyxl opens one, `xlsx_check`
reads only the zip's directory (whose sizes bound what can be decompressed:
Python's zipfile stops at the declared size) and the first bytes of each XML
part: file size, total and per-part uncompressed size and compression ratio,
the shared-strings table's size, no DTD or entities, UTF-8 only (so the byte
scans below see every tag). Then `GuardedZipFile` hands openpyxl its parts
through scanners that count, as the bytes stream past and before the XML
parser builds anything, the shared strings (openpyxl keeps them all in
memory), and each row's cells and bytes, and the rows.
"""

from __future__ import annotations

import re
import zipfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MEGABYTE = 1024 * 1024
XML_SUFFIXES = (".xml", ".rels", ".vml")
EXCEL_MAX_COLUMNS = 16_384  # a row holding more cell elements than Excel has columns is not a spreadsheet
CONTENT_TYPES_PART = "[Content_Types].xml"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(row|c|si)(?=[\s/>])")

DEFAULTS = {
    "UPLOADS_MAX_FILE_BYTES": 150 * MEGABYTE,
    "UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES": 2048 * MEGABYTE,
    "UPLOADS_MAX_XLSX_PART_BYTES": 32 * MEGABYTE,
    "UPLOADS_XLSX_MAX_RATIO": 200,
    "UPLOADS_XLSX_MAX_ENTRIES": 2000,
    "UPLOADS_MAX_SHARED_STRINGS": 1_000_000,
    "UPLOADS_MAX_SHARED_STRINGS_BYTES": 32 * MEGABYTE,
    "UPLOADS_MAX_ROWS": 2_000_000,
    "UPLOADS_MAX_COLUMNS": 500,
    "UPLOADS_MAX_CELL_CHARS": 32_767,
    "UPLOADS_MAX_ROW_CHARS": 1_000_000,
}


def limit(name: str) -> int:
    """The value of one limit: the setting, else its default."""
    return int(getattr(settings, name, DEFAULTS[name]))


class LimitExceeded(ValidationError):
    """A file over one of the limits; `setting` names the setting that changes it."""

    def __init__(self, message: Any, *, setting: str, params: dict[str, Any] | None = None) -> None:
        params = {"setting": setting, "limit": f"{limit(setting):,}", **(params or {})}
        super().__init__(message, code="limit", params=params)
        self.setting = setting


def _mb(size: int) -> str:
    return f"{size / MEGABYTE:,.1f}"


def file_size_check(size: int | None, *, name: str = "") -> None:
    """Refuse a file larger than UPLOADS_MAX_FILE_BYTES (before it is read)."""
    most = limit("UPLOADS_MAX_FILE_BYTES")
    if size is not None and size > most:
        raise LimitExceeded(
            _(
                "%(name)s is %(size)s MB; files may be at most %(most)s MB (setting %(setting)s). "
                "Split it into smaller files."
            ),
            setting="UPLOADS_MAX_FILE_BYTES",
            params={"name": name or _("The file"), "size": _mb(size), "most": _mb(most)},
        )


# ---- rows and cells (CSV and XLSX alike) ---------------------------------


@dataclass
class RowLimits:
    """The row limits, read once per file."""

    rows: int
    columns: int
    cell_chars: int
    row_chars: int
    rows_fixed: bool = False  # the reader's own row limit (lower than the setting) applies

    @classmethod
    def from_settings(cls, *, rows: int | None = None) -> RowLimits:
        """The settings' limits; `rows`: a reader's own, lower, limit on rows (e.g. lines per request)."""
        most_rows = limit("UPLOADS_MAX_ROWS")
        return cls(
            rows=min(most_rows, rows) if rows is not None else most_rows,
            columns=limit("UPLOADS_MAX_COLUMNS"),
            cell_chars=limit("UPLOADS_MAX_CELL_CHARS"),
            row_chars=limit("UPLOADS_MAX_ROW_CHARS"),
            rows_fixed=rows is not None and rows < most_rows,
        )

    def too_many_rows(self, number: int) -> ValidationError:
        params = {"most": f"{self.rows:,}", "row": f"{number:,}"}
        if self.rows_fixed:
            return ValidationError(
                _("The file has more than %(most)s data rows (row %(row)s is one too many): split it."),
                code="limit",
                params=params,
            )
        return LimitExceeded(
            _(
                "The file has more than %(most)s data rows (row %(row)s is one too many; "
                "setting %(setting)s)."
            ),
            setting="UPLOADS_MAX_ROWS",
            params=params,
        )

    def row_too_long(self, number: int) -> LimitExceeded:
        return LimitExceeded(
            _("Row %(row)s is longer than %(limit)s characters (setting %(setting)s)."),
            setting="UPLOADS_MAX_ROW_CHARS",
            params={"row": f"{number:,}"},
        )

    def too_many_columns(self, number: int, count: int) -> LimitExceeded:
        return LimitExceeded(
            _("Row %(row)s has %(count)s columns; at most %(limit)s are accepted (setting %(setting)s)."),
            setting="UPLOADS_MAX_COLUMNS",
            params={"row": f"{number:,}", "count": f"{count:,}"},
        )

    def cell_too_long(self, number: int, column: int = 0, length: int | None = None) -> LimitExceeded:
        """Column 0: a cell of the row, which one not known (the csv module stopped at it)."""
        if not column:
            return LimitExceeded(
                _("Row %(row)s: a cell is longer than %(limit)s characters (setting %(setting)s)."),
                setting="UPLOADS_MAX_CELL_CHARS",
                params={"row": f"{number:,}"},
            )
        return LimitExceeded(
            _(
                "Row %(row)s, column %(column)s: the cell is longer than %(limit)s characters "
                "(setting %(setting)s)."
            ),
            setting="UPLOADS_MAX_CELL_CHARS",
            params={"row": f"{number:,}", "column": column, "length": length},
        )

    def check(self, number: int, cells: list[Any]) -> None:
        """Refuse a row with too many columns (trailing empty cells do not count) or too long a cell."""
        count = len(cells)
        if count > self.columns:
            while count and cells[count - 1] in (None, ""):
                count -= 1
            if count > self.columns:
                raise self.too_many_columns(number, count)
        most = self.cell_chars
        for index, value in enumerate(cells):
            if value.__class__ is str and len(value) > most:
                raise self.cell_too_long(number, index + 1, len(value))


# ---- XLSX -----------------------------------------------------------------


def _too_big(part: str, size: int, setting: str) -> LimitExceeded:
    return LimitExceeded(
        _(
            "The workbook part %(part)s unpacks to %(size)s MB; at most %(most)s MB (setting %(setting)s): "
            "refused as a possible zip bomb. Save the sheet as CSV."
        ),
        setting=setting,
        params={"part": part, "size": _mb(size), "most": _mb(limit(setting))},
    )


def shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The shared-strings part's name, found as openpyxl finds it (the content types' override)."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.xml.functions import fromstring  # defusedxml when installed

    try:
        manifest = Manifest.from_tree(fromstring(archive.read(CONTENT_TYPES_PART)))
    except KeyError:
        return None
    found = manifest.find(SHARED_STRINGS_TYPE)
    return found.PartName[1:] if found is not None else None


def xlsx_check(path: Path) -> None:
    """Refuse a zip bomb, a DTD or entities, or a shared-strings table over its limits, before opening."""
    file_size_check(path.stat().st_size, name=path.name)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ValidationError(
            _("The file is not a valid XLSX workbook (its zip archive is damaged).")
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limit("UPLOADS_XLSX_MAX_ENTRIES"):
            raise LimitExceeded(
                _(
                    "The workbook holds %(count)s parts; at most %(limit)s (setting %(setting)s): "
                    "it is not a plain spreadsheet."
                ),
                setting="UPLOADS_XLSX_MAX_ENTRIES",
                params={"count": f"{len(entries):,}"},
            )
        names = {entry.filename for entry in entries}
        if "xl/workbook.xml" not in names:
            raise ValidationError(
                _("The file is a zip archive but not an XLSX workbook (no xl/workbook.xml).")
            )
        unpacked = sum(entry.file_size for entry in entries)
        if unpacked > limit("UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES"):
            raise LimitExceeded(
                _(
                    "The workbook unpacks to %(size)s MB; at most %(most)s MB (setting %(setting)s): "
                    "refused as a possible zip bomb. Save it as CSV or split it."
                ),
                setting="UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES",
                params={"size": _mb(unpacked), "most": _mb(limit("UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES"))},
            )
        ratio = limit("UPLOADS_XLSX_MAX_RATIO")
        for entry in entries:
            if entry.file_size > MEGABYTE and entry.file_size > ratio * max(entry.compress_size, 1):
                raise LimitExceeded(
                    _(
                        "The workbook part %(part)s is compressed %(times)s times; at most %(limit)s "
                        "(setting %(setting)s): refused as a possible zip bomb."
                    ),
                    setting="UPLOADS_XLSX_MAX_RATIO",
                    params={
                        "part": entry.filename,
                        "times": f"{entry.file_size // max(entry.compress_size, 1):,}",
                    },
                )
        part_most = limit("UPLOADS_MAX_XLSX_PART_BYTES")
        if CONTENT_TYPES_PART in names:  # read whole below, to find the shared strings
            types = archive.getinfo(CONTENT_TYPES_PART)
            _xml_head_check(archive, types)
            if types.file_size > part_most:
                raise _too_big(CONTENT_TYPES_PART, types.file_size, "UPLOADS_MAX_XLSX_PART_BYTES")
        strings = shared_strings_part(archive)
        if strings is not None and strings in names:
            size = archive.getinfo(strings).file_size
            if size > limit("UPLOADS_MAX_SHARED_STRINGS_BYTES"):
                raise _too_big(strings, size, "UPLOADS_MAX_SHARED_STRINGS_BYTES")
        for entry in entries:
            if entry.filename.lower().endswith(XML_SUFFIXES):
                _xml_head_check(archive, entry)
                # Worksheets stream through GuardedZipFile's row scanner and the shared strings have their
                # own limits; every other XML part is read whole.
                streamed = entry.filename.startswith("xl/worksheets/") or entry.filename == strings
                if entry.file_size > part_most and not streamed:
                    raise _too_big(entry.filename, entry.file_size, "UPLOADS_MAX_XLSX_PART_BYTES")


def _xml_head_check(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    try:
        with archive.open(entry) as part:
            start = part.read(4096)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        raise ValidationError(
            _("The workbook part %(part)s cannot be read."), params={"part": entry.filename}
        ) from None
    upper = start.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise ValidationError(
            _(
                "The workbook part %(part)s declares a DTD or entities (possible external entity attack): "
                "refused. Save the file again from a spreadsheet program."
            ),
            params={"part": entry.filename},
        )
    declaration = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([\w.\-]+)", start.lstrip(b"\xef\xbb\xbf"))
    if (
        b"\x00" in start[:64]
        or start.startswith((b"\xff\xfe", b"\xfe\xff"))
        or (declaration and declaration.group(1).lower() not in (b"utf-8", b"utf8"))
    ):
        raise ValidationError(
            _("The workbook part %(part)s is not UTF-8 XML: save the file again from a spreadsheet program."),
            params={"part": entry.filename},
        )


class _ScannedPart:
    """A zip part read through a tag scanner: `scan(data, offset)` sees every byte before the XML parser."""

    def __init__(self, raw: Any, scan: Callable[[bytes, int], None], finish: Callable[[int], None]) -> None:
        self._raw = raw
        self._scan = scan
        self._finish = finish
        self._carry = b""
        self._offset = 0  # file offset of self._carry's first byte

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        buffer = self._carry + data
        if not data:
            if buffer:
                self._scan(buffer, self._offset)
            self._carry = b""
            self._finish(self._offset + len(buffer))
            return data
        # A tag cut at the end of the chunk is scanned with the next one.
        cut = buffer.rfind(b"<")
        if cut < 0 or len(buffer) - cut > 64:
            cut = len(buffer)
        self._scan(buffer[:cut], self._offset)
        self._carry = buffer[cut:]
        self._offset += cut
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _ScannedPart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def readable(self) -> bool:
        return True


class _SharedStringsScan:
    def __init__(self, part: str) -> None:
        self.part = part
        self.count = 0
        self.most = limit("UPLOADS_MAX_SHARED_STRINGS")
        # A string longer than the cell limit is refused here, before openpyxl keeps it
        # (up to 8 bytes of XML per character: UTF-8, escapes and rich-text runs).
        self.cell_chars = limit("UPLOADS_MAX_CELL_CHARS")
        self.string_bytes = 8 * self.cell_chars + 4096
        self.last = 0

    def scan(self, data: bytes, offset: int) -> None:
        for match in TAG.finditer(data):
            if match.group(1) != b"si":
                continue
            start = offset + match.start()
            if start - self.last > self.string_bytes and self.count:
                self._too_long()
            self.count += 1
            self.last = start
            if self.count > self.most:
                raise LimitExceeded(
                    _(
                        "The workbook's shared-strings table (%(part)s) holds more than %(limit)s strings "
                        "(setting %(setting)s). Save the sheet as CSV or split it."
                    ),
                    setting="UPLOADS_MAX_SHARED_STRINGS",
                    params={"part": self.part},
                )
        if self.count and offset + len(data) - self.last > self.string_bytes:
            self._too_long()

    def _too_long(self) -> None:
        raise LimitExceeded(
            _("A text of the workbook is longer than %(limit)s characters (setting %(setting)s)."),
            setting="UPLOADS_MAX_CELL_CHARS",
        )

    def finish(self, end: int) -> None:
        pass


class _SheetScan:
    """Rows, cells per row and bytes per row of a worksheet, counted before the XML parser builds a row."""

    def __init__(self, limits: RowLimits) -> None:
        self.limits = limits
        self.rows = 0
        self.cells = 0
        self.row_start = 0
        self.cell_most = max(limits.columns, EXCEL_MAX_COLUMNS)
        self.row_bytes = 4 * limits.row_chars + 64 * self.cell_most
        self.rows_most = limits.rows + 1  # the header row

    def scan(self, data: bytes, offset: int) -> None:
        for match in TAG.finditer(data):
            if match.group(1) == b"c":
                self.cells += 1
                if self.cells > self.cell_most:
                    raise self.limits.too_many_columns(self.rows, self.cells)
            elif match.group(1) == b"row":
                start = offset + match.start()
                if start - self.row_start > self.row_bytes:
                    raise self.limits.row_too_long(max(self.rows, 1))
                self.rows += 1
                self.cells = 0
                self.row_start = start
                if self.rows > self.rows_most:
                    raise self.limits.too_many_rows(self.rows)
        if offset + len(data) - self.row_start > self.row_bytes:
            raise self.limits.row_too_long(max(self.rows, 1))

    def finish(self, end: int) -> None:
        pass


class GuardedZipFile(zipfile.ZipFile):
    """The zip of a checked workbook, whose worksheet and shared-strings parts stream through scanners."""

    def __init__(self, path: Path, *, limits: RowLimits) -> None:
        super().__init__(path)
        self.limits = limits
        self.strings: str | None = None
        self.strings = shared_strings_part(self)

    def open(self, name: Any, mode: str = "r", pwd: bytes | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        raw = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return raw
        filename = name.filename if isinstance(name, zipfile.ZipInfo) else str(name)
        if filename == self.strings:
            scan: Any = _SharedStringsScan(filename)
        elif filename.startswith("xl/worksheets/") and filename.endswith(".xml"):
            scan = _SheetScan(self.limits)
        else:
            return raw
        return _ScannedPart(raw, scan.scan, scan.finish)


class CompactStrings:
    """A workbook's shared strings as one UTF-8 buffer and their offsets (8 bytes a string), not a list of
    Python strings (about 150 bytes each): openpyxl's worksheet reader only indexes it."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offsets = array("Q", [0])

    def append(self, text: str) -> None:
        self._buffer += text.encode("utf-8", "surrogatepass")
        self._offsets.append(len(self._buffer))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        if index < 0 or index >= len(self):
            raise IndexError(f"shared string {index} does not exist")
        return self._buffer[self._offsets[index] : self._offsets[index + 1]].decode("utf-8", "surrogatepass")

    @classmethod
    def read(cls, source: Any) -> CompactStrings:
        """openpyxl's `read_string_table`, each <si> dropped from the tree once read."""
        from openpyxl.cell.text import Text
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse  # defusedxml when installed

        strings = cls()
        tag = f"{{{SHEET_MAIN_NS}}}si"
        root = None
        for event, node in iterparse(source, events=("start", "end")):
            if root is None:
                root = node
            if event == "end" and node.tag == tag:
                strings.append(Text.from_tree(node).content.replace("x005F_", ""))
                root.clear()
        return strings


def xlsx_workbook_open(path: Path, *, limits: RowLimits) -> Any:
    """A read-only openpyxl workbook of a file `xlsx_check` accepted, its parts read through the scanners.

    Raises LimitExceeded from the load (shared strings) or while its rows are read."""
    from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader

    class Reader(ExcelReader):
        def read_strings(self) -> None:
            found = self.package.find(SHARED_STRINGS)
            if found is not None:
                with self.archive.open(found.PartName[1:]) as source:
                    self.shared_strings = CompactStrings.read(source)

    xlsx_check(path)
    reader = Reader(str(path), read_only=True, data_only=False, keep_links=False)
    reader.archive.close()
    reader.archive = GuardedZipFile(path, limits=limits)
    reader.read()
    return reader.wb
