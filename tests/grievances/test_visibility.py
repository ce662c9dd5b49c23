"""Who sees a ticket: locations through access, sensitive categories only for the designated role, never
in the bulk export."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.roles import AUDITOR
from grievances.selectors import ticket_list
from grievances.services import ticket_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_sensitive_tickets_are_seen_only_by_the_designated_role(world, admin_user):
    plain = ticket_create(
        user=world.grace,
        channel="walk_in",
        category=world.payments,
        description="late",
        location=world.tree.north_a,
    )
    gbv = ticket_create(
        user=world.sam,
        channel="phone",
        category=world.gbv,
        description="...",
        location=world.tree.north_a,
        anonymous=True,
    )
    assert gbv.sensitive and not plain.sensitive
    auditor = make_user("aud", roles=(AUDITOR,), locations=(world.tree.north,))
    assert set(ticket_list(user=world.sam)) == {plain, gbv}
    assert set(ticket_list(user=world.grace)) == {plain}
    assert set(ticket_list(user=auditor)) == {plain}
    assert set(ticket_list(user=world.south)) == set()  # another region
    client = Client()
    client.force_login(User.objects.get(username="grace"))
    assert client.get(f"/admin/grievances/ticket/{gbv.pk}/change/").status_code == 302  # "not found"
    client.force_login(User.objects.get(username="sam"))
    assert client.get(f"/admin/grievances/ticket/{gbv.pk}/change/").status_code == 200
    export = b"".join(client.get("/admin/grievances/ticket/export.csv").streaming_content).decode()
    assert plain.number in export and gbv.number not in export


def test_a_complaint_about_a_payment_shows_on_that_payment_line(client):
    from tests.access.world import OFFICER_A, SUPERUSER, world_build

    matrix = world_build()  # its ticket is about the paid North A line
    ticket, line = matrix.objects["ticket"], matrix.objects["benefit"]
    assert ticket.benefit_id == line.pk and ticket.location_id == line.location_id
    url = f"/admin/payments/benefit/{line.pk}/change/"
    client.force_login(matrix.users[SUPERUSER])
    assert ticket.number in client.get(url).content.decode()
    client.force_login(matrix.users[OFFICER_A])  # sees the line, holds no grievance role
    page = client.get(url)
    assert page.status_code == 200 and ticket.number not in page.content.decode()
