"""Reports in a browser: created through the admin form, drawn by Plotly under the strict CSP, pinned."""

from __future__ import annotations

from datetime import date

import pytest

from registry.models import Individual
from reports.models import Report
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_view_and_pin_a_report(page, tree, administrator):
    for name, location, sex in (("a", tree.north_a, "F"), ("b", tree.north_b, "M"), ("c", tree.south, "F")):
        Individual.objects.create(
            given_name=name,
            family_name="Test",
            sex=sex,
            location=location,
            registration_date=date(2026, 1, 5),
        )
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    browser_login(page, "administrator")
    page.wait_for_selector("#content")
    page.goto("/admin/reports/report/add/")
    page.fill("#id_name", "People by region")
    page.select_option("#id_dataset", "individuals")
    # Only the chosen dataset's groupings are offered (report_form.js); the server checks them anyway.
    assert page.locator("#id_group_by optgroup[label='Households']").evaluate("group => group.disabled")
    assert not page.locator("#id_group_by optgroup[label='Individuals']").evaluate("group => group.disabled")
    page.select_option("#id_group_by", "location:0")
    page.select_option("#id_series_by", "sex")
    page.select_option("#id_chart_type", "bar")
    page.check("#id_pinned")
    page.click("input[name=_save]")

    page.wait_for_selector("#report-chart-plot svg.main-svg")
    report = Report.objects.get()
    assert report.created_by == administrator
    assert page.url.endswith(f"/admin/reports/report/{report.pk}/view/")
    rows = page.locator("#report-table tbody tr").all_inner_texts()
    assert [row.split("\t") for row in rows] == [
        ["North", "Female", "1"],
        ["North", "Male", "1"],
        ["South", "Female", "1"],
    ]
    assert page.locator("#report-chart-plot .xtick text").all_text_contents() == ["North", "South"]
    assert page.locator("#report-chart-plot .legendtext").all_text_contents() == ["Female", "Male"]
    assert "Data as of" in page.locator("#report-as-of").inner_text()

    with page.expect_download() as download:
        page.click("#report-export-csv")
    assert download.value.suggested_filename == "people-by-region.csv"

    page.goto("/admin/")
    page.wait_for_selector(f"#pinned-report-{report.pk}-plot svg.main-svg")
    assert page.locator("#pinned-reports figcaption").all_inner_texts() == ["People by region"]

    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, csp
    assert not problems, problems
