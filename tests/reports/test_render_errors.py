"""Reports whose schema moved under them, or with no rows: a clear message, never a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import RegistrySchema
from reports.selectors import report_result
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db


def schema_change(kind: str, change) -> None:  # type: ignore[no-untyped-def]
    stored = RegistrySchema.objects.get(kind=kind)
    schema = stored.schema
    change(schema)
    stored.schema = schema
    stored.save()


def drop_field(name: str):  # type: ignore[no-untyped-def]
    def change(schema: dict) -> None:
        del schema["properties"][name]
        schema["x-order"] = [n for n in schema.get("x-order", []) if n != name]

    return change


def page(client, report) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("admin:reports_report_view", args=[report.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_grouping_by_a_removed_custom_field(client, data, admin_user):
    report = make_report(dataset="individuals", group_by="custom:education")
    schema_change("individual", drop_field("education"))
    result = report_result(report=report, user=admin_user)
    assert result.error == (
        'This report cannot be computed: the custom field "education" is not in the individuals schema '
        "(removed or misspelt). Edit the report to fix it."
    )
    client.force_login(admin_user)
    html = page(client, report)
    assert 'id="report-error"' in html
    assert "the custom field &quot;education&quot; is not in the individuals schema" in html
    assert "report-export-csv" not in html
    export = client.get(reverse("admin:reports_report_export", args=[report.pk, "csv"]))
    assert export.status_code == 302
    # The edit form keeps the old key selectable and says what is wrong with it on save.
    change_url = reverse("admin:reports_report_change", args=[report.pk])
    assert "custom:education (no longer offered)" in client.get(change_url).content.decode()


def test_a_removed_number_field_and_a_filter_on_a_removed_field(data, admin_user):
    average = make_report(
        dataset="individuals", group_by="sex", measure="avg", measure_field="data.school_attendance"
    )
    filtered = make_report(
        dataset="individuals", group_by="sex", filter_expression="data.school_attendance > 0.6"
    )
    schema_change("individual", drop_field("school_attendance"))
    assert 'unknown field "data.school_attendance"' in report_result(report=average, user=admin_user).error
    error = report_result(report=filtered, user=admin_user).error
    assert error.startswith(
        "This report cannot be computed: the filter no longer works: "
        'unknown field "data.school_attendance" at column 1'
    )


def test_a_number_field_that_became_text(data, admin_user):
    report = make_report(
        dataset="individuals", group_by="sex", measure="sum", measure_field="data.school_attendance"
    )

    def to_text(schema: dict) -> None:
        schema["properties"]["school_attendance"] = {"type": "string", "title": "Attendance"}

    schema_change("individual", to_text)
    assert (
        '"data.school_attendance" is text, and a sum needs a number field'
        in report_result(report=report, user=admin_user).error
    )


def test_a_plan_field_removed_from_the_plan_schema(data, admin_user):
    report = make_report(dataset="beneficiaries", benefit_plan=data.cash, group_by="custom:score")
    data.cash.beneficiary_schema = {"type": "object", "properties": {}, "required": []}
    data.cash.save()
    report.refresh_from_db()
    assert (
        'the custom field "score" is not in the schema of plan CASH'
        in report_result(report=report, user=admin_user).error
    )


def test_no_data_shows_a_message_and_no_chart(client, data, admin_user):
    report = make_report(dataset="individuals", group_by="sex", filter_expression='given_name == "nobody"')
    client.force_login(admin_user)
    html = page(client, report)
    assert 'id="report-no-data"' in html
    assert "No data" in html
    assert 'data-chart="report-chart"' not in html


def test_the_page_draws_from_json_script_without_inline_script(client, data, admin_user):
    report = make_report(dataset="individuals", group_by="sex", chart_type="pie")
    client.force_login(admin_user)
    html = page(client, report)
    assert '<script id="report-chart" type="application/json">' in html
    assert 'data-chart="report-chart"' in html
    assert "portal/charts.js" in html
    assert '<td>Female</td><td class="report-value">3</td>' in html
    table_only = make_report(dataset="individuals", group_by="sex", chart_type="table")
    html = page(client, table_only)
    assert 'data-chart="report-chart"' not in html and 'id="report-table"' in html


def test_groups_are_capped(data, admin_user, monkeypatch):
    monkeypatch.setattr("reports.selectors.MAX_GROUPS", 2)
    report = make_report(dataset="individuals", group_by="sex")
    result = report_result(report=report, user=admin_user)
    assert result.truncated
    assert [row.label for row in result.rows] == ["Female", "Male"]
