"""The public status page: the number and tracking code show the status, the dates of its steps and the
comments staff marked public; nothing personal, nothing internal; look-ups are counted per address."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grievances.models import Channel
from grievances.services import ticket_assign, ticket_comment, ticket_create, ticket_start
from tests.grievances.test_public_file import token

pytestmark = pytest.mark.django_db
URL = "/grievances/status/"


@pytest.fixture
def ticket(world):
    ticket = ticket_create(
        user=None,
        channel=Channel.WEB,
        category="late-payment",
        description="My May payment never came; my neighbour Joseph took it.",
        complainant_name="Amina Otieno",
        complainant_phone="+254700000001",
        location=world.tree.north_a,
    )
    ticket = ticket_assign(
        ticket=ticket, user=world.gina, assignee=world.grace, comment="Internal: check Joseph"
    )
    ticket = ticket_start(ticket=ticket, user=world.grace)
    ticket_comment(
        ticket=ticket, user=world.grace, comment="We asked the provider for the receipt.", public=True
    )
    ticket_comment(ticket=ticket, user=world.grace, comment="Provider suspects the agent.")
    return ticket


def look_up(client, number: str, code: str, **extra):
    return client.post(
        URL, {"form_token": token(), "website": "", "number": number, "tracking_code": code}, **extra
    )


def test_the_route_is_the_public_status_page(client, world):
    assert reverse("grievances_public:status") == URL
    page = client.get(URL)
    assert page.status_code == 200 and "<script" not in page.content.decode()


def test_the_status_and_public_comments_show_and_nothing_personal(client, ticket):
    response = look_up(
        client, ticket.number.lower(), " ".join(ticket.tracking_code[i : i + 4] for i in (0, 4, 8))
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ticket-status">In progress<' in html
    assert "We asked the provider for the receipt." in html
    for hidden in (
        "Provider suspects the agent",
        "Internal: check Joseph",
        "Amina",
        "+254700000001",
        "Joseph took it",
        "grace",
    ):
        assert hidden not in html, hidden


def test_a_wrong_code_finds_nothing(client, ticket):
    response = look_up(client, ticket.number, "ABCDEFGHJKMN")
    assert response.status_code == 404
    assert "No complaint has this number and tracking code" in response.content.decode()
    assert "In progress" not in response.content.decode()


def test_look_ups_are_counted_per_address(client, ticket, settings):
    settings.GRIEVANCE_PUBLIC_STATUS_RATE_LIMIT = 3
    for _ in range(3):
        assert look_up(client, ticket.number, "ABCDEFGHJKMN").status_code == 404
    refused = look_up(client, ticket.number, ticket.tracking_code)
    assert refused.status_code == 429 and "Retry-After" in refused


def test_a_robot_filling_the_honeypot_learns_nothing(client, ticket):
    response = client.post(
        URL,
        {
            "form_token": token(),
            "website": "x",
            "number": ticket.number,
            "tracking_code": ticket.tracking_code,
        },
    )
    assert response.status_code == 400 and "In progress" not in response.content.decode()
