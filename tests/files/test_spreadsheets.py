"""The writer's rules, cell by cell: OWASP's leading characters neutralised in CSV, typed cells in XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from openpyxl import load_workbook

from files import spreadsheets
from files.spreadsheets import Sheet, csv_cell, csv_stream, csv_text, csv_write, sheet_title, xlsx_bytes


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_each_leading_character(start):
    assert csv_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"
    assert csv_text(None, [[f"{start}x"]], bom=False) == (
        f"'{start}x\r\n" if start != "\r" else '"\'\rx"\r\n'
    )


@pytest.mark.parametrize("plain", ["+254700000001", "-12.5", "+3", "-.5", "007", "12", "plain", "", "a=b"])
def test_csv_leaves_plain_numbers_and_text_alone(plain):
    assert csv_cell(plain) == plain


@pytest.mark.parametrize("risky", ["-1+2", "+1-cmd", "-2e3", "=1", "@SUM(1)", "+ 1", "--1"])
def test_csv_neutralises_anything_beyond_a_plain_number(risky):
    assert csv_cell(risky) == "'" + risky


def test_csv_types_and_text_like_values():
    assert csv_cell(None) is None and csv_cell(-5) == -5 and csv_cell(Decimal("-1.50")) == Decimal("-1.50")
    assert csv_cell(True) is True
    assert csv_cell(mark_safe("=1")) == "'=1"  # a str subclass is text too
    assert csv_cell(lazy(lambda: "@x", str)()) == "'@x"
    assert csv_cell({"note": "=x"}) == '{"note": "=x"}'
    assert csv_cell(["=x"]) == '["=x"]'
    assert csv_cell(["=x"]).startswith("[")
    assert csv_cell(date(2026, 1, 2)) == "2026-01-02"


def test_csv_stream_in_pieces_with_a_bom(monkeypatch):
    monkeypatch.setattr(spreadsheets, "ROWS_PER_PIECE", 2)
    pieces = list(csv_stream(["name", "=h"], ([f"=r{i}", i] for i in range(5))))
    assert pieces[0] == "\ufeffname,'=h\r\n"
    assert len(pieces) == 4  # header, 2 + 2 + 1 rows
    rows = list(csv.reader(io.StringIO("".join(pieces).lstrip("\ufeff"))))
    assert rows[1:] == [[f"'=r{i}", str(i)] for i in range(5)]


def test_csv_write_counts_rows(tmp_path):
    path = tmp_path / "out.csv"
    assert csv_write(path, ["a"], [["=1"], ["2"]]) == 2
    assert path.read_bytes().decode("utf-8-sig") == "a\r\n'=1\r\n2\r\n"


def test_xlsx_cells_are_typed():
    aware = datetime(2026, 1, 2, 10, 30, tzinfo=UTC)
    row = ["=cmd|' /C calc'!A0", "@SUM(1)", "+254700000001", "007", -12.5, Decimal("7.25"), 3, True,
           date(2026, 1, 2), aware, None, {"a": 1}, "bell\x07", "-1+2", "plain"]  # fmt: skip
    content = xlsx_bytes([Sheet("People: =x/y", ["=header", "name"], [row])])
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert sheet.title == "People- =x-y"
    header = list(sheet.iter_rows(min_row=1, max_row=1))[0]
    assert header[0].value == "=header" and header[0].data_type == "s" and header[0].quotePrefix
    assert header[1].font.bold
    cells = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    values = [cell.value for cell in cells]
    assert values[:4] == ["=cmd|' /C calc'!A0", "@SUM(1)", "+254700000001", "007"]
    assert [cell.data_type for cell in cells[:4]] == ["s", "s", "s", "s"]
    assert [cell.quotePrefix for cell in cells[:4]] == [True, True, True, False]
    assert values[4:8] == [-12.5, 7.25, 3, True] and cells[4].data_type == "n" and cells[7].data_type == "b"
    assert values[8] == datetime(2026, 1, 2) and cells[8].is_date
    assert cells[9].is_date and values[9].tzinfo is None  # local time, as Excel has no time zones
    assert values[10] is None and values[11] == '{"a": 1}'
    assert values[12] == "bell\ufffd"  # a control character Excel refuses
    assert (
        values[13] == "-1+2" and cells[13].quotePrefix and values[14] == "plain" and not cells[14].quotePrefix
    )
    assert all(cell.data_type != "f" for cell in cells)


def test_sheet_title():
    assert sheet_title("a" * 40) == "a" * 31
    assert sheet_title("[x]:?*") == "-x----"
    assert sheet_title("''") == "Sheet"
