"""The dashboard in a browser: Plotly draws every chart under the strict CSP; filters and Refresh act."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.summaries import summaries_refresh
from registry.models import Individual
from tests.conftest import browser_login
from tests.portal.test_dashboard import dashboard_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("registrations", "beneficiaries", "coverage", "map", "pyramid", "payments", "reconciliation")


def coverage_labels(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#chart-coverage-plot .xtick text").all_text_contents()


def map_labels(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The names drawn beside the map's bubbles (one SVG point per bubble)."""
    assert page.locator("#chart-map-plot .scatterlayer .points path.point").count() == len(
        page.locator("#chart-map-plot .textpoint text").all_text_contents()
    )
    return sorted(page.locator("#chart-map-plot .textpoint text").all_text_contents())


def reconciliation_rates(page) -> list[float]:  # type: ignore[no-untyped-def]
    """The paid / issued lines (%) the reconciliation chart drew, read from the plotted graph."""
    return page.evaluate(
        "() => document.getElementById('chart-reconciliation-plot').data"
        ".find(t => t.name.startsWith('Paid / issued, lines')).y"
    )


def place(location, latitude: str, longitude: str) -> None:  # type: ignore[no-untyped-def]
    location.latitude, location.longitude = Decimal(latitude), Decimal(longitude)
    location.save()


def test_dashboard_draws_charts_and_filters_them(page, tree, administrator, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    dashboard_data(tree)
    for location, latitude, longitude in (
        (tree.north, "-5", "30"),
        (tree.south, "-9", "35"),
        (tree.north_a, "-4.5", "29.5"),
        (tree.north_b, "-5.5", "30.5"),
    ):
        place(location, latitude, longitude)
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
    assert map_labels(page) == ["North", "South"]
    # Cycle 2026-01: 1 line paid of 3 issued; its paid, failed and pending bars are drawn.
    assert reconciliation_rates(page) == [33.3]
    assert page.locator("#chart-reconciliation-plot .bars path").count() >= 3
    assert page.locator("#chart-reconciliation-plot .scatterlayer .points path").count() == 2

    page.select_option("#id_location", label="North (N)")
    page.click(".dashboard-filters input[type=submit]")
    page.wait_for_selector("#chart-coverage-plot svg.main-svg")
    assert "location=" in page.url
    assert coverage_labels(page) == ["North A", "North B"]
    page.wait_for_selector("#chart-map-plot svg.main-svg")
    assert map_labels(page) == ["North A", "North B"]
    page.wait_for_selector("#chart-reconciliation-plot svg.main-svg")
    assert reconciliation_rates(page) == [50.0]  # the North's lines: 1 paid of 2
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
