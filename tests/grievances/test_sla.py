"""The SLA job: open tickets past due become overdue, escalate one level to the team's supervisor role,
with one event each; resolved, rejected and already overdue tickets are left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from grievances.models import EventKind, Ticket
from grievances.services import ticket_assign, ticket_create, ticket_reject
from grievances.sla import tickets_mark_overdue

pytestmark = pytest.mark.django_db


def _file(world, **extra):
    return ticket_create(
        user=world.grace,
        channel="phone",
        category=world.late_payment,
        description="Not paid",
        location=world.tree.north_a,
        **extra,
    )


def test_overdue_tickets_escalate_once_with_an_event(world, django_assert_max_num_queries):
    late, on_time, rejected = _file(world), _file(world), _file(world)
    ticket_assign(ticket=late, user=world.gina, assignee=world.grace)
    ticket_reject(ticket=rejected, user=world.grace, reason="not_grievance")
    past = timezone.now() - timedelta(days=1)
    Ticket.objects.filter(pk__in=[late.pk, rejected.pk]).update(due_at=past)

    with django_assert_max_num_queries(6):  # set-based: the same few statements for any number of tickets
        result = tickets_mark_overdue()
    assert result["overdue"] == 1 and result["events"] == 1
    late.refresh_from_db()
    assert late.overdue and late.escalation_level == 1
    assert late.escalated_to == world.north_team.supervisor_role
    event = late.events.get(kind=EventKind.OVERDUE)
    assert event.data == {"escalated_to": world.north_team.supervisor_role_id, "level": 1}
    assert event.from_status == "assigned"
    assert not Ticket.objects.get(pk=on_time.pk).overdue
    assert not Ticket.objects.get(pk=rejected.pk).overdue

    assert tickets_mark_overdue()["overdue"] == 0  # a second run escalates nothing again
    assert late.events.filter(kind=EventKind.OVERDUE).count() == 1


def test_the_command_runs_it(world):
    ticket = _file(world)
    Ticket.objects.filter(pk=ticket.pk).update(due_at=timezone.now() - timedelta(hours=1))
    call_command("grievances_sla", "--now")
    assert Ticket.objects.get(pk=ticket.pk).overdue


def test_batches_mark_every_ticket_once_and_signal_once(world, django_capture_on_commit_callbacks):
    from grievances.signals import tickets_escalated

    tickets = [_file(world) for _ in range(5)]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(due_at=timezone.now() - timedelta(days=2))
    heard = []

    def receiver(sender, **kwargs):
        heard.append(kwargs["count"])

    tickets_escalated.connect(receiver, dispatch_uid="test-batches")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = tickets_mark_overdue(batch_size=2)  # batches of 2, 2, 1
    finally:
        tickets_escalated.disconnect(dispatch_uid="test-batches")
    assert result["overdue"] == 5 and heard == [5]
    assert Ticket.objects.filter(overdue=True, escalation_level=1).count() == 5
    for ticket in tickets:
        assert ticket.events.filter(kind=EventKind.OVERDUE).count() == 1
