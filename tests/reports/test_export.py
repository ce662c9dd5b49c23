"""CSV and XLSX exports of a report: the figures of the page, spreadsheet formulas defused."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from registry.models import Location, LocationLevel
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db


def export(client, report, file_format: str):  # type: ignore[no-untyped-def]
    response = client.get(reverse("admin:reports_report_export", args=[report.pk, file_format]))
    assert response.status_code == 200
    return response


def test_csv_export(client, data, admin_user):
    LocationLevel.objects.create(depth=0, name="Region")
    report = make_report(name="People by region", dataset="individuals", group_by="location:0")
    client.force_login(admin_user)
    response = export(client, report, "csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="people-by-region.csv"'
    assert response.content.decode() == "Location: Region,People\r\nNorth,4\r\nSouth,2\r\n"


def test_xlsx_export_with_a_second_grouping_and_decimals(client, data, admin_user):
    report = make_report(
        name="Attendance",
        dataset="individuals",
        group_by="location:0",
        series_by="sex",
        measure="avg",
        measure_field="data.school_attendance",
    )
    client.force_login(admin_user)
    response = export(client, report, "xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["Location: level 0", "Sex", "Average of data.school_attendance"],
        ["North", "Female", 0.5],
        ["North", "Male", 0.9],
        ["South", "Female", 1],
        ["South", "Other / not stated", None],
    ]


def test_exports_defuse_formulas_in_labels(client, data, admin_user, tree):
    Location.objects.filter(pk=tree.north.pk).update(name="=HYPERLINK(1)")
    report = make_report(dataset="individuals", group_by="location:0")
    client.force_login(admin_user)
    assert "'=HYPERLINK(1),4" in export(client, report, "csv").content.decode()
    sheet = load_workbook(io.BytesIO(export(client, report, "xlsx").content)).active
    assert sheet["A2"].value == "=HYPERLINK(1)" and sheet["A2"].data_type == "s" and sheet["A2"].quotePrefix


def test_an_empty_report_exports_its_header(client, data, admin_user):
    report = make_report(dataset="individuals", group_by="sex", filter_expression="age > 200")
    client.force_login(admin_user)
    assert export(client, report, "csv").content.decode() == "Sex,People\r\n"


def test_unknown_format_is_not_found(client, data, admin_user):
    report = make_report(dataset="individuals", group_by="sex")
    client.force_login(admin_user)
    assert client.get(reverse("admin:reports_report_export", args=[report.pk, "pdf"])).status_code == 404
