"""The ticket page's buttons do not protect anything: a forged POST meets the service's checks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from grievances.models import Ticket, TicketStatus
from grievances.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(world):
    return ticket_create(
        user=world.grace,
        channel="walk_in",
        category=world.payments,
        description="x",
        location=world.tree.north_a,
    )


def test_a_forged_jump_to_resolved_fails(world, ticket, client):
    client.force_login(User.objects.get(username="gina"))
    response = client.post(f"/admin/grievances/ticket/{ticket.pk}/do/resolve/", {"resolution": "done"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED


def test_a_forged_status_in_the_change_form_is_ignored(world, ticket, client, admin_user):
    client.force_login(admin_user)
    client.post(
        f"/admin/grievances/ticket/{ticket.pk}/change/", {"status": "closed", "description": "changed"}
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RECEIVED and ticket.description == "x"


def test_an_officer_elsewhere_cannot_assign_by_post(world, ticket, client):
    client.force_login(User.objects.get(username="southg"))
    response = client.post(f"/admin/grievances/ticket/{ticket.pk}/do/assign/", {"assignee": world.south.pk})
    assert response.status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED


def test_a_forged_bulk_assign_without_change_permission_fails(world, ticket, client, tree):
    from access.roles import AUDITOR
    from tests.conftest import make_user

    make_user("viewer", roles=(AUDITOR,), locations=(tree.north,))
    client.force_login(User.objects.get(username="viewer"))
    client.post(
        "/admin/grievances/ticket/",
        {"action": "bulk_assign", "_selected_action": [ticket.pk], "post": "yes", "assignee": world.grace.pk},
    )
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_bulk_assign_asks_then_assigns(world, ticket, client):
    client.force_login(User.objects.get(username="gina"))
    page = client.post(
        "/admin/grievances/ticket/", {"action": "bulk_assign", "_selected_action": [ticket.pk]}
    )
    assert page.status_code == 200 and b"bulk-assign-submit" in page.content
    assert Ticket.objects.get(pk=ticket.pk).assignee is None  # the confirmation page changes nothing
    client.post(
        "/admin/grievances/ticket/",
        {"action": "bulk_assign", "_selected_action": [ticket.pk], "post": "yes", "assignee": world.grace.pk},
    )
    assert Ticket.objects.get(pk=ticket.pk).assignee == world.grace
