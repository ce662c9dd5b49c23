"""The ticket list's combined filters read their index on PostgreSQL, never the table in key order: the
plan of the changelist's page query (status + category; overdue + a place), and the SLA job's batches.

Planned with `enable_seqscan = off` over skewed data (thousands of tickets the filter leaves out, a few it
keeps): a walk of the primary key, or of a one-column index filtering the rest, reads the thousands; the
composite index reads the few. At 1,000,000 tickets that walk cost seconds (bench/grievances.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from grievances.models import Ticket, TicketEvent
from grievances.sla import tickets_mark_overdue
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _bulk(world, n: int, *, start: int, **values: Any) -> None:
    now = timezone.now()
    defaults = {
        "channel": "sms",
        "category": world.payments,
        "description": "x",
        "location": world.tree.north_a,
        "due_at": now + timedelta(days=10),
    }
    Ticket.objects.bulk_create(
        Ticket(number=f"GRV-T-{start + i}", tracking_code=f"T{start + i:011d}", **{**defaults, **values})
        for i in range(n)
    )


def _index_names(plan: dict[str, Any]) -> set[str]:
    names = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        names |= _index_names(child)
    return names


def _page_plan(url: str) -> set[str]:
    request = RequestFactory().get(url)
    request.user = make_user("planner", superuser=True)
    changelist = site._registry[Ticket].get_changelist_instance(request)
    sql, params = changelist.queryset.order_by("-pk")[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grievances_ticket")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    return _index_names(plan)


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the query plan is PostgreSQL's")


def test_status_and_category_read_the_composite_index(on_postgresql, world):
    _bulk(world, 3000, start=0, status="in_progress", category=world.gbv, assignee=world.grace)
    _bulk(world, 3000, start=10_000, status="received", category=world.late_payment)
    _bulk(world, 5, start=20_000, status="in_progress", category=world.late_payment, assignee=world.grace)
    url = f"/admin/grievances/ticket/?status=in_progress&category={world.payments.pk}"
    assert "ticket_status_category_idx" in _page_plan(url)


def test_overdue_tickets_of_a_place_read_the_partial_location_index(on_postgresql, world):
    _bulk(world, 3000, start=0, overdue=True, location=world.tree.north_b)
    _bulk(world, 3000, start=10_000, overdue=False, location=world.tree.south)
    _bulk(world, 5, start=20_000, overdue=True, location=world.tree.north_a)
    url = f"/admin/grievances/ticket/?overdue=yes&location={world.tree.north_a.pk}"
    indexes = _page_plan(url)
    # The place's few rows by a location index (the partial one, or the full one when the planner prices
    # them alike), never the 3,000 other overdue tickets walked by the overdue index.
    assert indexes & {"ticket_overdue_location_idx", "ticket_location_idx"}, indexes
    assert "ticket_overdue_idx" not in indexes, indexes


def test_the_sla_job_marks_in_batches_with_one_event_each(on_postgresql, world):
    past = timezone.now() - timedelta(days=1)
    _bulk(world, 7, start=0, due_at=past, team=world.north_team)
    _bulk(world, 2, start=100, due_at=past, status="resolved", assignee=world.grace)
    result = tickets_mark_overdue(batch_size=3)
    assert result["overdue"] == 7
    marked = Ticket.objects.filter(overdue=True)
    assert marked.count() == 7 and set(marked.values_list("escalation_level", flat=True)) == {1}
    assert set(marked.values_list("escalated_to", flat=True)) == {world.north_team.supervisor_role_id}
    events = TicketEvent.objects.filter(kind="overdue")
    assert events.count() == 7 and events.values("ticket").distinct().count() == 7
    assert events.first().data == {"escalated_to": world.north_team.supervisor_role_id, "level": 1}
    assert tickets_mark_overdue(batch_size=3)["overdue"] == 0
