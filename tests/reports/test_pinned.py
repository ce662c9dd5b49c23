"""Pinned reports on the dashboard: only those the viewer may see, a few, computed once per few minutes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import AUDITOR
from reports.selectors import MAX_PINNED
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def pinned_names(html: str) -> list[str]:
    section = html.split('id="pinned-reports"', 1)[1] if 'id="pinned-reports"' in html else ""
    return re.findall(r'<figcaption><a href="[^"]+">([^<]+)</a></figcaption>', section)


def pinned_bodies(client, html: str) -> dict[str, str]:
    """What each pinned box fetches after the page has loaded, by its URL."""
    return {url: client.get(url).content.decode() for url in re.findall(r'data-pinned-url="([^"]+)"', html)}


def test_the_dashboard_shows_the_pinned_reports_the_viewer_may_see(client, data, maker):
    make_report(name="People by sex", dataset="individuals", group_by="sex", pinned=True, pin_order=2)
    make_report(
        name="Households", dataset="households", group_by="size", chart_type="table", pinned=True, pin_order=1
    )
    make_report(name="Not pinned", dataset="individuals", group_by="sex")
    make_report(
        name="Auditors only",
        dataset="individuals",
        group_by="sex",
        pinned=True,
        roles=[Group.objects.get(name=AUDITOR)],
    )
    client.force_login(maker)
    with CaptureQueriesContext(connection) as page:
        html = client.get(INDEX).content.decode()
    assert pinned_names(html) == ["Households", "People by sex"]
    # The page itself computes no report: the boxes fetch their bodies after it has loaded.
    assert not [q for q in page if 'FROM "registry_individual"' in q["sql"] and "GROUP BY" in q["sql"]]
    bodies = list(pinned_bodies(client, html).values())
    figure = re.search(
        r'<script id="pinned-report-(\d+)" type="application/json">(.*?)</script>', bodies[1], re.S
    )
    assert figure is not None and '"type":"bar"' in figure.group(2).replace(" ", "")
    assert '<table class="report-table">' in bodies[0]
    assert all("Data as of" in body for body in bodies)


def test_a_pinned_box_of_a_report_the_viewer_may_not_see_is_not_found(client, data, maker):
    hidden = make_report(
        name="Auditors only",
        dataset="individuals",
        group_by="sex",
        pinned=True,
        roles=[Group.objects.get(name=AUDITOR)],
    )
    client.force_login(maker)
    assert client.get(reverse("admin:reports_report_pinned", args=[hidden.pk])).status_code == 404


def test_pinned_reports_are_capped_and_cached(client, data, admin_user):
    for n in range(MAX_PINNED + 2):
        make_report(name=f"Pinned {n}", dataset="individuals", group_by="sex", pinned=True, pin_order=n)
    client.force_login(admin_user)
    html = client.get(INDEX).content.decode()
    assert pinned_names(html) == [f"Pinned {n}" for n in range(MAX_PINNED)]
    with CaptureQueriesContext(connection) as first:
        pinned_bodies(client, html)
    with CaptureQueriesContext(connection) as second:
        pinned_bodies(client, html)
    aggregates = [
        q
        for q in first
        if 'FROM "registry_individual"' in q["sql"] and "GROUP BY" in q["sql"] and "COUNT(*)" in q["sql"]
    ]
    again = [
        q
        for q in second
        if 'FROM "registry_individual"' in q["sql"] and "GROUP BY" in q["sql"] and "COUNT(*)" in q["sql"]
    ]
    assert len(aggregates) == MAX_PINNED
    assert again == []


def test_a_broken_pinned_report_shows_its_message_not_an_error(client, data, admin_user):
    make_report(name="Broken", dataset="individuals", group_by="custom:education", pinned=True)
    from registry.models import RegistrySchema

    stored = RegistrySchema.objects.get(kind="individual")
    del stored.schema["properties"]["education"]
    stored.save()
    client.force_login(admin_user)
    response = client.get(INDEX)
    assert response.status_code == 200
    [body] = pinned_bodies(client, response.content.decode()).values()
    assert "This report cannot be computed" in body
