"""The dashboard's grievance figures: open tickets by category and age, overdue share, time to resolution;
sensitive categories below the minimum count stay off; a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from grievances.models import Ticket
from grievances.selectors import grievance_figures
from grievances.services import ticket_create
from tests.portal.test_dashboard import chart, dashboard, figures, traces

pytestmark = pytest.mark.django_db


def _file(world, category, n, **extra):
    return [
        ticket_create(
            user=world.sam,
            channel="sms",
            category=category,
            description="x",
            location=world.tree.north_a,
            **extra,
        )
        for _ in range(n)
    ]


def test_figures_and_suppressed_sensitive_categories(world, settings):
    settings.GRIEVANCES_SENSITIVE_MIN_COUNT = 3
    old, new = _file(world, world.late_payment, 2)
    _file(world, world.gbv, 2, anonymous=True)
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40), overdue=True)
    resolved = _file(world, world.payments, 1)[0]
    Ticket.objects.filter(pk=resolved.pk).update(
        status="resolved", created_at=timezone.now() - timedelta(days=4), resolved_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        result = grievance_figures(user=world.sam)
    assert len(queries) <= 6
    assert result.open_total == 4 and result.overdue_open == 1 and result.overdue_share == 25.0
    assert result.open_by_category_age == {("Payments", "< 1 week"): 1, ("Payments", "1–3 months"): 1}
    assert round(result.resolution_days_median) == 4 and result.resolved_counted == 1

    _file(world, world.gbv, 1, anonymous=True)  # three now: at the minimum, shown
    assert grievance_figures(user=world.sam).open_by_category_age[("Gender-based violence", "< 1 week")] == 3


def test_the_dashboard_shows_them(world, client, admin_user):
    _file(world, world.late_payment, 2)
    response = dashboard(client, admin_user)
    assert figures(response)["Open grievances"] == 2
    assert traces(chart(response, "grievances"))["< 1 week"] == {"Payments": 2}


def test_median_and_90th_percentile_of_days_to_resolve(world):
    tickets = _file(world, world.payments, 10)
    now = timezone.now()
    for days, ticket in enumerate(tickets, start=1):  # resolved after 1, 2, ... 10 days
        Ticket.objects.filter(pk=ticket.pk).update(
            status="resolved", created_at=now - timedelta(days=days), resolved_at=now
        )
    old = _file(world, world.payments, 1)[0]  # resolved before the year counted: left out
    Ticket.objects.filter(pk=old.pk).update(
        status="resolved", created_at=now - timedelta(days=500), resolved_at=now - timedelta(days=400)
    )
    result = grievance_figures(user=world.sam)
    assert result.resolved_counted == 10
    assert 5 <= result.resolution_days_median <= 6  # nearest rank on SQLite, interpolated on PostgreSQL
    assert 9 <= result.resolution_days_p90 <= 10
    assert result.open_total == 0 and result.overdue_share is None


def test_the_export_goes_through_the_safe_writer_without_sensitive_cases(world, client, admin_user):
    from grievances.models import Category

    formula = Category.objects.create(code="formula", name='=HYPERLINK("http://x")', sla_days=3)
    plain = _file(world, formula, 1)[0]
    secret = _file(world, world.gbv, 1, anonymous=True)[0]
    client.force_login(admin_user)
    response = client.get("/admin/grievances/ticket/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert plain.number in text and secret.number not in text
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text  # neutralised, never a live formula
