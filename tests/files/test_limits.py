"""Crafted files are refused with a message naming the limit and its setting, before memory grows: each read
in a real child process (as an upload worker reads it) whose growth is measured (peak RSS, /proc)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

CHILD = Path(__file__).with_name("read_in_child.py")
MEGABYTE = 1024 * 1024
MAX_GROWTH_MB = 100
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def read_in_child(path: Path, *, kind: str = "upload", **settings: int) -> dict:
    """Read `path` in a fresh Python process with these settings; its refusal, rows read and growth in MB."""
    env = {**os.environ, **{name: str(value) for name, value in settings.items()}}
    done = subprocess.run(
        [sys.executable, str(CHILD), kind, str(path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{path.name} {settings or ''}: {result}")
    assert result["grown_mb"] < MAX_GROWTH_MB, result
    return result


def refused(path: Path, *expected: str, **settings: int) -> str:
    result = read_in_child(path, **settings)
    assert result["refused"], f"{path.name} was read whole: {result}"
    for text in expected:
        assert text in result["refused"], result["refused"]
    return result["refused"]


def xlsx_with(
    path: Path,
    *,
    sheet: Iterable[bytes] | None = None,
    strings: Iterable[bytes] | None = None,
    level: int = 1,
) -> Path:
    """A real workbook (made by openpyxl) whose sheet is replaced by, and to which a shared-strings table is
    added from, the given XML, streamed into the zip."""
    workbook = Workbook()
    workbook.active.append(["given_name", "family_name"])
    base = io.BytesIO()
    workbook.save(base)
    parts: dict[str, Iterable[bytes]] = {}
    with zipfile.ZipFile(base) as source:
        for entry in source.infolist():
            parts[entry.filename] = [source.read(entry)]
    if sheet is not None:
        parts["xl/worksheets/sheet1.xml"] = sheet
    if strings is not None:
        types = b"".join(parts["[Content_Types].xml"])
        override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS}" />'
        parts["[Content_Types].xml"] = [types.replace(b"</Types>", override.encode() + b"</Types>")]
        parts["xl/sharedStrings.xml"] = strings
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as out:
        for name, pieces in parts.items():
            with out.open(name, "w", force_zip64=True) as part:
                for piece in pieces:
                    part.write(piece)
    return path


def sheet_xml(rows: Iterable[bytes]) -> Iterator[bytes]:
    yield f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    yield b'<row r="1">' + inline(b"given_name") + inline(b"family_name") + b"</row>"
    yield from rows
    yield b"</sheetData></worksheet>"


def strings_xml(count: int, *, first: Iterable[str] = ("given_name", "family_name")) -> Iterator[bytes]:
    yield f'<sst xmlns="{MAIN_NS}">'.encode()
    yield "".join(f"<si><t>{text}</t></si>" for text in first).encode()
    for start in range(0, count, 100_000):
        yield "".join(f"<si><t>s{i}</t></si>" for i in range(start, min(count, start + 100_000))).encode()
    yield b"</sst>"


def inline(text: bytes) -> bytes:
    return b'<c t="inlineStr"><is><t>' + text + b"</t></is></c>"


def inline_cells(count: int) -> bytes:
    return b"".join(b'<c t="inlineStr"><is><t>%d</t></is></c>' % i for i in range(count))


# ---- XLSX ---------------------------------------------------------------------------------


def test_shared_strings_bomb(tmp_path):
    """3 million distinct strings (70 MB of XML, 12 times compressed): openpyxl would hold them all."""
    path = xlsx_with(tmp_path / "strings.xlsx", strings=strings_xml(3_000_000))
    assert zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml").file_size > 60 * MEGABYTE
    refused(path, "xl/sharedStrings.xml unpacks to", "UPLOADS_MAX_SHARED_STRINGS_BYTES")
    # With the size limit lifted, the count stops it as the table streams in, before openpyxl keeps more.
    refused(
        path,
        "holds more than 1,000,000 strings",
        "UPLOADS_MAX_SHARED_STRINGS",
        UPLOADS_MAX_SHARED_STRINGS_BYTES=1024 * MEGABYTE,
    )


def test_zip_bomb(tmp_path):
    """A worksheet of 400 MB of blanks compressed 1,000 times, refused three ways as each limit is lifted."""
    blanks = (b" " * MEGABYTE for _ in range(400))
    path = xlsx_with(tmp_path / "bomb.xlsx", sheet=sheet_xml(blanks), level=9)
    assert path.stat().st_size < 2 * MEGABYTE
    refused(path, "compressed", "UPLOADS_XLSX_MAX_RATIO")
    lifted = {"UPLOADS_XLSX_MAX_RATIO": 100_000}
    refused(
        path,
        "unpacks to",
        "UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES",
        **lifted,
        UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES=MEGABYTE,
    )
    refused(path, "Row 1 is longer than", "UPLOADS_MAX_ROW_CHARS", **lifted)


def test_xml_part_bomb(tmp_path):
    """A part read whole by openpyxl (here the styles) may not unpack beyond its limit."""
    path = xlsx_with(tmp_path / "styles.xlsx")
    with zipfile.ZipFile(path) as source:
        parts = {entry.filename: source.read(entry) for entry in source.infolist()}
    parts["xl/styles.xml"] = parts["xl/styles.xml"].replace(
        b"</styleSheet>", b"<!--" + b"x" * 40 * MEGABYTE + b"--></styleSheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    refused(path, "xl/styles.xml unpacks to", "UPLOADS_MAX_XLSX_PART_BYTES", UPLOADS_XLSX_MAX_RATIO=100_000)


def test_very_wide_row_xlsx(tmp_path):
    """A row of a million cells: stopped after Excel's 16,384 columns, before the XML parser builds it."""
    path = xlsx_with(tmp_path / "wide.xlsx", sheet=sheet_xml([b"<row>", inline_cells(1_000_000), b"</row>"]))
    refused(path, "Row 2 has 16,385 columns", "UPLOADS_MAX_COLUMNS")
    narrow = xlsx_with(tmp_path / "narrow.xlsx", sheet=sheet_xml([b"<row>", inline_cells(600), b"</row>"]))
    refused(narrow, "Row 2 has 600 columns; at most 500", "UPLOADS_MAX_COLUMNS")


def test_huge_cells_xlsx(tmp_path):
    inline = b'<row><c t="inlineStr"><is><t>' + b"y" * 40_000 + b"</t></is></c></row>"
    refused(
        xlsx_with(tmp_path / "cell.xlsx", sheet=sheet_xml([inline])),
        "Row 2, column 1",
        "UPLOADS_MAX_CELL_CHARS",
    )
    huge = b'<row><c t="inlineStr"><is><t>' + b"z" * 50 * MEGABYTE + b"</t></is></c></row>"
    huge_path = xlsx_with(tmp_path / "huge.xlsx", sheet=sheet_xml([huge]))
    refused(huge_path, "compressed", "UPLOADS_XLSX_MAX_RATIO")
    refused(huge_path, "Row 2 is longer than", "UPLOADS_MAX_ROW_CHARS", UPLOADS_XLSX_MAX_RATIO=100_000)
    shared = xlsx_with(
        tmp_path / "shared.xlsx", strings=strings_xml(0, first=("given_name", "q" * 20 * MEGABYTE))
    )
    refused(
        shared,
        "A text of the workbook is longer than 32,767 characters",
        "UPLOADS_MAX_CELL_CHARS",
        UPLOADS_XLSX_MAX_RATIO=100_000,
    )


def test_too_many_rows_xlsx(tmp_path):
    rows = (b'<row><c t="inlineStr"><is><t>%d</t></is></c></row>' % i for i in range(1500))
    path = xlsx_with(tmp_path / "rows.xlsx", sheet=sheet_xml(rows))
    refused(path, "more than 1,000 data rows", "UPLOADS_MAX_ROWS", UPLOADS_MAX_ROWS=1000)
    assert read_in_child(path)["rows"] == 1500


# ---- CSV ----------------------------------------------------------------------------------


def test_very_wide_row_csv(tmp_path):
    """Two million fields on one line: refused while the line is read, never split into a list."""
    path = tmp_path / "wide.csv"
    path.write_bytes(b"given_name,family_name\n" + b",".join(b"%d" % i for i in range(2_000_000)) + b"\n")
    refused(path, "Row 2 is longer than 1,000,000 characters", "UPLOADS_MAX_ROW_CHARS")
    path.write_bytes(b"given_name,family_name\n" + b",".join([b"x"] * 600) + b"\n")
    refused(path, "Row 2 has 600 columns; at most 500", "UPLOADS_MAX_COLUMNS")


def test_rows_spanning_many_lines_csv(tmp_path):
    """Quoted cells running over many lines make one row: its lines add up to the row limit."""
    path = tmp_path / "quoted.csv"
    path.write_bytes(b"given_name,family_name\n" + b'"a\n",' * 300_000 + b"x\n")
    refused(path, "Row 2 is longer than", "UPLOADS_MAX_ROW_CHARS")
    path.write_bytes(b'given_name,family_name\n"' + b"line\n" * 300_000 + b'",x\n')
    refused(path, "Row 2: a cell is longer than", "UPLOADS_MAX_CELL_CHARS")


def test_huge_cells_csv(tmp_path):
    path = tmp_path / "cell.csv"
    path.write_bytes(b"given_name,family_name\nAmina," + b"y" * 40_000 + b"\n")
    refused(path, "Row 2, column 2: the cell is longer than 32,767 characters", "UPLOADS_MAX_CELL_CHARS")
    path.write_bytes(b"given_name,family_name\nAmina," + b"y" * 500_000 + b"\n")
    refused(path, "Row 2: a cell is longer than 32,767 characters", "UPLOADS_MAX_CELL_CHARS")


def test_too_many_rows_csv(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(b"given_name,family_name\n" + b"".join(b"A%d,B\n" % i for i in range(1500)))
    refused(
        path,
        "more than 1,000 data rows (row 1,001 is one too many",
        "UPLOADS_MAX_ROWS",
        UPLOADS_MAX_ROWS=1000,
    )
    assert read_in_child(path)["rows"] == 1500


def test_file_size(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"given_name,family_name\n" + b"A,B\n" * 1000)
    refused(path, "files may be at most", "UPLOADS_MAX_FILE_BYTES", UPLOADS_MAX_FILE_BYTES=1000)


def test_the_location_import_reads_within_the_limits(tmp_path):
    path = tmp_path / "locations.csv"
    path.write_bytes(b"code,name\n" + b"".join(b"L%d,Place\n" % i for i in range(50)))
    assert read_in_child(path, kind="table")["rows"] == 50
    result = read_in_child(path, kind="table", UPLOADS_MAX_ROWS=10)
    assert "UPLOADS_MAX_ROWS" in result["refused"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_messages_are_translated(tmp_path, settings, suffix):
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from files.readers import table_read

    settings.UPLOADS_MAX_ROWS = 1
    path = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"code,name\nA,B\nC,D\n")
    else:
        workbook = Workbook()
        for row in (["code", "name"], ["A", "B"], ["C", "D"]):
            workbook.active.append(row)
        workbook.save(path)
    with translation.override("fr"), pytest.raises(ValidationError) as refusal:
        table_read(path)
    assert "UPLOADS_MAX_ROWS" in refusal.value.messages[0]
    assert refusal.value.code == "limit"


def test_a_workbook_with_shared_strings_reads_as_openpyxl_reads_it(tmp_path):
    from openpyxl import load_workbook

    from files.readers import table_read

    strings = [
        f'<sst xmlns="{MAIN_NS}"><si><t>Amina</t></si>'.encode(),
        "<si><r><t>Dia</t></r><r><rPr><b/></rPr><t>llo é</t></r></si>".encode(),
        b"<si><t>+254700000001</t></si></sst>",
    ]
    row = b'<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c><c><v>-12.5</v></c></row>'
    path = xlsx_with(tmp_path / "strings.xlsx", strings=strings, sheet=sheet_xml([row]))
    header, rows = table_read(path)
    assert header == ["given_name", "family_name"]
    assert rows == [["Amina", "Diallo é", "+254700000001", "-12.5"]]
    plain = list(load_workbook(path, read_only=True).active.iter_rows(min_row=2, values_only=True))
    assert plain == [("Amina", "Diallo é", "+254700000001", -12.5)]
