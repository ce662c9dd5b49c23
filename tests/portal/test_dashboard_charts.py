"""The coverage map, the reconciliation chart, the first view's queries, hand-counted."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from access.roles import PAYMENT_OFFICER, REGISTRY_OFFICER
from tests.conftest import make_user
from tests.portal.test_dashboard import Plans, chart, dashboard, dashboard_data_refreshed, figures, traces


@pytest.fixture
def plans(tree, maker, south_officer) -> Plans:  # type: ignore[no-untyped-def]
    return dashboard_data_refreshed(tree, maker, south_officer)


def place(location, latitude: str, longitude: str) -> None:  # type: ignore[no-untyped-def]
    location.latitude, location.longitude = Decimal(latitude), Decimal(longitude)
    location.save()


def bubbles(figure: dict) -> dict[str, dict]:
    """{location name: its longitude, latitude, size and hover figures} of the map's one trace."""
    (trace,) = figure["data"]
    return {
        name: {"x": x, "y": y, "size": size, "figures": figures}
        for name, x, y, size, figures in zip(
            trace["text"], trace["x"], trace["y"], trace["marker"]["size"], trace["customdata"], strict=True
        )
    }


def test_map_places_each_area_at_its_coordinates(client, plans, administrator, tree):
    place(tree.north, "-5.5", "30.25")
    place(tree.south, "-9", "35")
    figure = chart(dashboard(client, administrator), "map")
    # Size = people registered; hover = people, current beneficiaries, share (North 4 of 4, South 1 of 2).
    assert bubbles(figure) == {
        "North": {"x": 30.25, "y": -5.5, "size": 4, "figures": [4, 4, 100.0]},
        "South": {"x": 35.0, "y": -9.0, "size": 2, "figures": [2, 1, 50.0]},
    }
    layout = figure["layout"]
    assert layout["yaxis"]["scaleanchor"] == "x" and layout["yaxis"]["scaleratio"] == 1
    assert figure["data"][0]["marker"]["sizemode"] == "area"
    assert "geo" not in layout and "map" not in layout and "mapbox" not in layout  # nothing fetched online

    # The map follows the filters: the pension's current beneficiaries are f1950 and m1940, both North.
    pension = bubbles(chart(dashboard(client, administrator, f"?plan={plans.pension.pk}"), "map"))
    assert pension["North"]["figures"] == [4, 2, 50.0] and pension["South"]["figures"] == [2, 0, 0.0]
    # The last five years leave out m1940 (registered 2015) and his enrolments.
    recent = bubbles(chart(dashboard(client, administrator, "?period=60"), "map"))
    assert recent["North"]["size"] == 3 and recent["North"]["figures"] == [3, 3, 100.0]


def test_map_shows_the_chosen_locations_children_or_a_note(client, plans, administrator, tree):
    place(tree.north, "-5.5", "30.25")
    response = dashboard(client, administrator, f"?location={tree.north.pk}")
    html = response.content.decode()
    # North A and North B have no coordinates: a note instead of an empty map, and no figure JSON.
    assert 'id="chart-map-note"' in html and "No location here has coordinates." in html
    assert 'id="chart-map"' not in html
    place(tree.north_b, "-5", "31")
    figure = chart(dashboard(client, administrator, f"?location={tree.north.pk}"), "map")
    assert bubbles(figure) == {"North B": {"x": 31.0, "y": -5.0, "size": 1, "figures": [1, 1, 100.0]}}


def test_map_is_scoped_to_the_viewer(client, plans, south_officer, tree):
    place(tree.north, "-5.5", "30.25")
    place(tree.south, "-9", "35")
    figure = chart(dashboard(client, south_officer, f"?location={tree.north.pk}"), "map")
    # The south officer sees the South only, and only the cash transfer (f2000 active).
    assert bubbles(figure) == {"South": {"x": 35.0, "y": -9.0, "size": 2, "figures": [2, 1, 50.0]}}


def test_reconciliation_rate_per_cycle(client, plans, administrator, tree):
    # Cycle 2026-01 issued f1990 100 paid, m2020 50 pending, f2000 (South) 100 failed; not the draft.
    figure = traces(chart(dashboard(client, administrator), "reconciliation"))
    assert figure == {
        "Paid": {"2026-01": 1},
        "Failed": {"2026-01": 1},
        "Pending": {"2026-01": 1},
        "Paid / issued, lines (%)": {"2026-01": 33.3},  # 1 of 3 lines
        "Paid / issued, amount (%)": {"2026-01": 40.0},  # 100 of 250
    }
    north = traces(chart(dashboard(client, administrator, f"?location={tree.north.pk}"), "reconciliation"))
    assert north == {
        "Paid": {"2026-01": 1},
        "Failed": {"2026-01": 0},
        "Pending": {"2026-01": 1},
        "Paid / issued, lines (%)": {"2026-01": 50.0},
        "Paid / issued, amount (%)": {"2026-01": 66.7},  # 100 of 150
    }
    pension = traces(chart(dashboard(client, administrator, f"?plan={plans.pension.pk}"), "reconciliation"))
    assert all(values == {} for values in pension.values())


def test_reconciliation_is_scoped_and_needs_the_payments_permission(client, plans, tree):
    payer = make_user("south-payer", roles=(PAYMENT_OFFICER,), locations=(tree.south,))
    assign_perm("programs.view_benefitplan", payer, plans.cash)
    figure = traces(chart(dashboard(client, payer, f"?location={tree.north.pk}"), "reconciliation"))
    assert figure["Paid"] == {"2026-01": 0} and figure["Failed"] == {"2026-01": 1}
    assert figure["Paid / issued, lines (%)"] == {"2026-01": 0.0}
    # A registry officer has no payments permission: no reconciliation chart at all.
    registrar = make_user("registrar", roles=(REGISTRY_OFFICER,), locations=(tree.south,))
    charts = {c.key for c in dashboard(client, registrar).context["charts"]}
    assert "reconciliation" not in charts and "payments" not in charts


def test_open_grievances_are_counted(client, plans, administrator):
    response = dashboard(client, administrator)
    assert figures(response)["Open grievances"] == 0  # real figures now (tests/grievances/test_dashboard.py)


def test_first_view_after_a_refresh_reads_the_coarsest_summary_rows(client, plans, administrator, tree):
    client.force_login(administrator)
    client.get("/admin/")  # warm permissions and content types
    cache.clear()  # the rollup is gone, as after a refresh
    client.get("/admin/approvals/task/")  # the header's sidebar and badge kept again: only the rollup is not
    with CaptureQueriesContext(connection) as first:
        assert client.get("/admin/").status_code == 200
    with CaptureQueriesContext(connection) as cached:
        assert client.get("/admin/").status_code == 200
    summary_reads = [q["sql"] for q in first.captured_queries if "portal_registrysummary" in q["sql"]]
    # Three rollup sums (by area, month, sex and age band), only on the first view, at the regions' grain.
    assert len(summary_reads) == 3 and len(first) == len(cached) + 3
    assert all(re.search(r'"grain" = 0\b', sql) for sql in summary_reads), summary_reads
    plan_reads = [
        q["sql"]
        for q in first.captured_queries
        if re.search(r'FROM "portal_(beneficiary|payment)summary"', q["sql"])
    ]
    assert plan_reads and all(re.search(r'"grain" = 0\b', sql) for sql in plan_reads), plan_reads
    assert len(first) <= 30

    # A district filter needs the rows per location, restricted to the district's path.
    cache.clear()
    client.get("/admin/approvals/task/")
    with CaptureQueriesContext(connection) as district:
        client.get(f"/admin/?location={tree.north_a.pk}")
    reads = [q["sql"] for q in district.captured_queries if "portal_registrysummary" in q["sql"]]
    assert len(reads) == 3 and all(re.search(r'"grain" = 99\b', sql) for sql in reads)
    assert len(district) == len(first)
