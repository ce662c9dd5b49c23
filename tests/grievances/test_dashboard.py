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
