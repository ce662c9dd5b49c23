"""The dashboard in a browser: Plotly draws every chart under the strict CSP; filters and Refresh act."""

from __future__ import annotations

import pytest

from portal.summaries import summaries_refresh
from registry.models import Individual
from tests.conftest import browser_login
from tests.portal.test_dashboard import dashboard_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("registrations", "beneficiaries", "coverage", "pyramid", "payments")


def coverage_labels(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#chart-coverage-plot .xtick text").all_text_contents()


def test_dashboard_draws_charts_and_filters_them(page, tree, administrator, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    dashboard_data(tree)
    summaries_refresh()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    browser_login(page, "administrator")
    page.wait_for_selector("#dashboard")
    for key in CHARTS:
        page.wait_for_selector(f"#chart-{key}-plot svg.main-svg")
    assert coverage_labels(page) == ["North", "South"]
    # Bars are drawn: the pyramid has one path per non-empty band (2 men, 3 women).
    assert page.locator("#chart-pyramid-plot .bars path").count() >= 5

    page.select_option("#id_location", label="North (N)")
    page.click(".dashboard-filters input[type=submit]")
    page.wait_for_selector("#chart-coverage-plot svg.main-svg")
    assert "location=" in page.url
    assert coverage_labels(page) == ["North A", "North B"]
    people = page.locator(".key-figure", has_text="People registered").locator(".key-figure-value")
    assert people.inner_text() == "4"

    # Refresh recounts (the job runs in-process here) and keeps the filters: a new person in North A shows up.
    Individual.objects.create(given_name="New", family_name="Person", sex="F", location=tree.north_a)
    page.click(".dashboard-refresh input[type=submit]")
    page.wait_for_selector("#chart-coverage-plot svg.main-svg")
    assert (
        page.locator(".key-figure", has_text="People registered").locator(".key-figure-value").inner_text()
        == "5"
    )
    assert "Data as of" in page.locator("#data-as-of").inner_text()
    assert coverage_labels(page) == ["North A", "North B"]

    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, csp
    assert not problems, problems
