"""The project's spreadsheet writers, listed from the source: only `files/` may write a CSV or XLSX file.

A new exporter that writes with the csv module, openpyxl, xlsxwriter, tablib or
django-tables2's export instead of `files.spreadsheets` fails here, named by
file and line; so does an admin offering import-export formats other than
`files.formats`' (they would write through tablib, unneutralised).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib import admin

from files import formats

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"files", "bench", "tests", ".venv", "node_modules", ".git"}
CSV_WRITERS = {"writer", "DictWriter"}
OPENPYXL_WRITERS = {"Workbook", "WriteOnlyCell"}
TABLIB_FORMATS = {"csv", "tsv", "xlsx", "xls", "ods"}


def project_sources() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not ALLOWED.intersection(path.relative_to(ROOT).parts[:1]) and "migrations" not in path.parts
    )


def writers_in(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every way of writing a spreadsheet outside the one writer."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            names = {alias.name for alias in node.names}
            if root == "csv" and names & CSV_WRITERS:
                found.append((node.lineno, f"from csv import {', '.join(sorted(names & CSV_WRITERS))}"))
            if root == "openpyxl" and names & OPENPYXL_WRITERS:
                found.append((node.lineno, f"from {node.module} import {sorted(names & OPENPYXL_WRITERS)}"))
            if root in ("xlsxwriter", "tablib") and node.module != "tablib":
                found.append((node.lineno, f"from {node.module} import ..."))
            if node.module == "tablib" and "Databook" in names:
                found.append((node.lineno, "tablib.Databook"))
            if node.module.startswith("django_tables2") and names & {"TableExport", "ExportMixin"}:
                found.append((node.lineno, "django-tables2 export"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "xlsxwriter":
                    found.append((node.lineno, "import xlsxwriter"))
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner == "csv" and node.attr in CSV_WRITERS:
                found.append((node.lineno, f"csv.{node.attr}"))
            elif owner == "openpyxl" and node.attr in OPENPYXL_WRITERS:
                found.append((node.lineno, f"openpyxl.{node.attr}"))
            elif owner == "tablib" and node.attr == "Databook":
                found.append((node.lineno, "tablib.Databook"))
            elif node.attr in ("TableExport",):
                found.append((node.lineno, node.attr))
            elif node.attr in TABLIB_FORMATS and isinstance(node.ctx, ast.Load) and owner != "self":
                # dataset.csv / dataset.xlsx: tablib's export properties
                found.append((node.lineno, f".{node.attr} (tablib export)"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            first = node.args[0] if node.args else None
            if name in ("export", "export_set", "export_book") and (
                isinstance(first, ast.Constant)
                and first.value in TABLIB_FORMATS
                or any(keyword.arg == "format" for keyword in node.keywords)
            ):
                shown = first.value if isinstance(first, ast.Constant) else "..."
                found.append((node.lineno, f".{name}({shown})"))
            elif name == "export_data":
                found.append((node.lineno, ".export_data (import-export format)"))
    return found


def test_the_project_writes_spreadsheets_only_through_files_spreadsheets():
    offenders = []
    for path in project_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in writers_in(tree)]
    assert not offenders, (
        "Spreadsheets written outside files.spreadsheets (use csv_stream / csv_write / xlsx_write, which "
        "neutralise formulas and type XLSX cells):\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        "import csv\nw = csv.writer(out)",
        "from csv import DictWriter",
        "import openpyxl\nopenpyxl.Workbook()",
        "from openpyxl import Workbook",
        "from openpyxl.cell import WriteOnlyCell",
        "import xlsxwriter",
        "import tablib\ntablib.Databook([])",
        "data = dataset.export('xlsx')",
        "data = dataset.xlsx",
        "text = base_formats.CSV().export_data(dataset)",
        "from django_tables2.export import TableExport",
    ],
)
def test_the_scan_finds_each_way_of_writing(source):
    assert writers_in(ast.parse(source)), source


def test_the_scan_leaves_reading_alone():
    source = (
        "import csv\nrows = csv.reader(f)\nfrom openpyxl import load_workbook\n"
        "import tablib\nd = tablib.Dataset()"
    )
    assert writers_in(ast.parse(source)) == []


def unsafe_formats(registry: dict) -> list[str]:
    """Admins of `registry` whose import-export screens offer a format other than `files.formats`'."""
    allowed = set(formats.FORMATS)
    offenders = []
    for model, model_admin in registry.items():
        for method in ("get_export_formats", "get_import_formats"):
            if hasattr(model_admin, method):
                # an upload's screen picks its format for the bulk reader, which never goes through tablib
                if method == "get_import_formats" and model._meta.app_label == "uploads":
                    continue
                offered = set(getattr(model_admin, method)())
                if not offered <= allowed:
                    extra = sorted(map(str, offered - allowed))
                    offenders.append(f"{type(model_admin).__name__}.{method}: {extra}")
    return offenders


def test_import_export_admins_offer_only_the_safe_formats():
    assert unsafe_formats(admin.site._registry) == []


def test_an_admin_with_import_export_defaults_is_found():
    from import_export.admin import ImportExportModelAdmin

    from registry.models import LocationLevel

    class DefaultFormats(ImportExportModelAdmin):
        pass

    found = unsafe_formats({LocationLevel: DefaultFormats(LocationLevel, admin.site)})
    assert any("get_export_formats" in line for line in found) and any(
        "get_import_formats" in line for line in found
    )
