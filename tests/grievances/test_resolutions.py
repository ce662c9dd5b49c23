"""A resolution that changes data: the maker-checker request from the ticket, linked, and the ticket
resolved when the task is executed (or back to work when it is rejected)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import TaskState
from approvals.services import task_approve, task_reject
from grievances.models import EventKind, TicketStatus
from grievances.resolutions import ticket_resolution_request
from grievances.services import ticket_assign, ticket_create, ticket_start
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _in_progress(world):
    ticket = ticket_create(
        user=world.grace,
        channel="walk_in",
        category=world.payments,
        description="My phone number is wrong, the payment SMS goes elsewhere.",
        subject=world.person,
    )
    ticket = ticket_assign(ticket=ticket, user=world.grace, assignee=world.grace)
    return ticket_start(ticket=ticket, user=world.grace)


def test_the_ticket_resolves_when_its_registry_edit_is_executed(
    world, checker, django_capture_on_commit_callbacks
):
    ticket = _in_progress(world)
    with django_capture_on_commit_callbacks(execute=True):
        task = ticket_resolution_request(
            ticket=ticket,
            user=world.grace,
            comment="Correct the phone",
            action="registry.update",
            fields={"phone": "+254711000222"},
        )
    ticket.refresh_from_db()
    assert ticket.resolution_task == task and ticket.status == TicketStatus.IN_PROGRESS
    assert task.action == "registry.update" and task.state == TaskState.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        task_approve(task=task, user=checker)
    ticket.refresh_from_db()
    world.person.refresh_from_db()
    assert world.person.phone == "+254711000222"
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.events.filter(kind=EventKind.RESOLVED, data__task=task.pk).exists()


def test_a_rejected_request_leaves_the_ticket_in_progress(world, checker, django_capture_on_commit_callbacks):
    ticket = _in_progress(world)
    task = ticket_resolution_request(
        ticket=ticket,
        user=world.grace,
        comment="Correct the phone",
        action="registry.update",
        fields={"phone": "+254711000333"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        task_reject(task=task, user=checker, comment="Not proven")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.resolution_task is None
    assert ticket.events.filter(kind=EventKind.APPROVAL_ENDED).exists()


def test_a_request_needs_work_started_and_a_known_change(world):
    ticket = ticket_create(
        user=world.grace, channel="walk_in", category=world.payments, description="x", subject=world.person
    )
    with pytest.raises(ValidationError) as refused:
        ticket_resolution_request(
            ticket=ticket, user=world.grace, comment="x", action="registry.update", fields={"phone": "1"}
        )
    assert "status" in refused.value.message_dict
    ticket = _in_progress(world)
    with pytest.raises(ValidationError) as refused:
        ticket_resolution_request(ticket=ticket, user=world.grace, comment="x", action="payments.wire_money")
    assert "action" in refused.value.message_dict


@pytest.fixture
def checker(tree):
    from access.roles import APPROVER

    return make_user("checker", roles=(APPROVER,), locations=(tree.north,))
