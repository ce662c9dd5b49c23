"""Each step of a ticket's life, who may take it, and the jumps the lifecycle forbids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from grievances.models import Channel, EventKind, Ticket, TicketStatus
from grievances.services import (
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_reject,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
)
from grievances.signals import ticket_status_changed

pytestmark = pytest.mark.django_db


def _file(world, **extra):
    values = {
        "user": world.grace,
        "channel": Channel.WALK_IN,
        "category": world.late_payment,
        "description": "My May payment never came.",
        "location": world.tree.north_a,
    }
    return ticket_create(**{**values, **extra})


def test_a_ticket_goes_from_received_to_closed_and_each_step_is_recorded(
    world, django_capture_on_commit_callbacks
):
    heard = []
    ticket_status_changed.connect(
        lambda sender, ticket, event, **kw: heard.append(event.kind), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = _file(world, complainant_individual=world.person)
            assert ticket.number == f"GRV-{timezone.localdate().year}-000001"
            assert ticket.status == TicketStatus.RECEIVED
            assert ticket.team == world.north_team  # routed: the team handling Payments in the North
            assert ticket.priority == world.late_payment.default_priority
            assert ticket.due_at - ticket.created_at == timedelta(days=5)
            ticket = ticket_assign(ticket=ticket, user=world.gina, assignee=world.grace, comment="yours")
            ticket = ticket_start(ticket=ticket, user=world.grace)
            ticket = ticket_resolve(ticket=ticket, user=world.grace, resolution="Paid on 3 June.")
            ticket = ticket_close(ticket=ticket, user=world.grace, comment="Confirmed by phone")
    finally:
        ticket_status_changed.disconnect(dispatch_uid="t")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    events = list(
        ticket.events.order_by("pk").values_list("kind", "from_status", "to_status", "actor__username")
    )
    assert events == [
        (EventKind.CREATED, "", "received", "grace"),
        (EventKind.ASSIGNED, "received", "assigned", "gina"),
        (EventKind.STARTED, "assigned", "in_progress", "grace"),
        (EventKind.RESOLVED, "in_progress", "resolved", "grace"),
        (EventKind.CLOSED, "resolved", "closed", "grace"),
    ]
    assert heard == ["created", "assigned", "started", "resolved", "closed"]


def test_numbers_follow_each_other_and_tracking_codes_differ(world):
    first, second = _file(world), _file(world)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1
    assert first.tracking_code != second.tracking_code and len(first.tracking_code) == 12


@pytest.mark.parametrize("step", ["start", "resolve", "close", "reopen"])
def test_a_received_ticket_cannot_jump(world, step):
    ticket = _file(world)
    calls = {
        "start": lambda: ticket_start(ticket=ticket, user=world.gina),
        "resolve": lambda: ticket_resolve(ticket=ticket, user=world.gina, resolution="x"),
        "close": lambda: ticket_close(ticket=ticket, user=world.gina),
        "reopen": lambda: ticket_reopen(ticket=ticket, user=world.gina, comment="again"),
    }
    with pytest.raises((ValidationError, PermissionDenied)):
        calls[step]()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED
    assert ticket.events.count() == 1


def test_only_the_assignee_or_a_supervisor_starts_and_resolves(world):
    ticket = ticket_assign(ticket=_file(world), user=world.grace, assignee=world.grace)
    with pytest.raises(PermissionDenied):
        ticket_start(ticket=ticket, user=world.sam)
    ticket = ticket_start(ticket=ticket, user=world.gina)  # the team's supervisor
    assert ticket.status == TicketStatus.IN_PROGRESS


def test_reopen_within_the_window_only(world, settings):
    settings.GRIEVANCES_REOPEN_DAYS = 7
    ticket = ticket_assign(ticket=_file(world), user=world.grace, assignee=world.grace)
    ticket = ticket_start(ticket=ticket, user=world.grace)
    ticket = ticket_resolve(ticket=ticket, user=world.grace, resolution="Paid.")
    with pytest.raises(ValidationError) as refused:
        ticket_reopen(ticket=ticket, user=world.grace, comment="")
    assert "comment" in refused.value.message_dict
    ticket = ticket_reopen(ticket=ticket, user=world.grace, comment="Still not paid")
    assert ticket.status == TicketStatus.ASSIGNED and ticket.resolved_at is None
    ticket = ticket_start(ticket=ticket, user=world.grace)
    ticket = ticket_resolve(ticket=ticket, user=world.grace, resolution="Paid now.")
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=8))
    with pytest.raises(ValidationError) as refused:
        ticket_reopen(ticket=ticket, user=world.grace, comment="Again")
    assert "7 days" in str(refused.value)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED


def test_reject_as_duplicate_names_the_other_ticket(world):
    first, second = _file(world), _file(world)
    with pytest.raises(ValidationError) as refused:
        ticket_reject(ticket=second, user=world.grace, reason="duplicate")
    assert "related_ticket" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        ticket_reject(ticket=second, user=world.grace, reason="spam")
    assert "reason" in refused.value.message_dict
    second = ticket_reject(ticket=second, user=world.grace, reason="duplicate", related_ticket=first)
    assert second.status == TicketStatus.REJECTED and second.related_ticket == first
    with pytest.raises(ValidationError):
        ticket_assign(ticket=second, user=world.grace, assignee=world.grace)


def test_an_officer_elsewhere_cannot_touch_the_ticket(world):
    ticket = _file(world)
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, user=world.south, assignee=world.south)
    with pytest.raises(ValidationError) as refused:
        ticket_assign(ticket=ticket, user=world.grace, assignee=world.south)  # cannot see it
    assert "assignee" in refused.value.message_dict
