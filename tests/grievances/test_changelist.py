"""The ticket list: its queues and filters, and a query count that does not grow with the tickets."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grievances.services import ticket_assign, ticket_create

pytestmark = pytest.mark.django_db


def _tickets(world, n):
    return [
        ticket_create(
            user=world.grace,
            channel="sms",
            category=world.late_payment,
            description=f"#{i}",
            location=world.tree.north_a,
        )
        for i in range(n)
    ]


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?queue=mine",
        "?queue=team",
        "?status=open",
        "?overdue=yes",
        "?category={cat}",
        "?team={team}",
        "?location={loc}",
    ],
)
def test_the_list_and_its_filters_run_a_fixed_number_of_queries(world, client, query):
    client.force_login(User.objects.get(username="gina"))
    url = "/admin/grievances/ticket/" + query.format(
        cat=world.payments.pk, team=world.north_team.pk, loc=world.tree.north.pk
    )
    _tickets(world, 2)
    _queries(client, url)  # caches filled (content types, permissions) by the first request of the test
    few, _ = _queries(client, url)
    _tickets(world, 8)
    many, response = _queries(client, url)
    assert many == few, "a query per ticket"
    assert few <= 22


def test_my_tickets_lists_only_mine(world, client):
    mine, other = _tickets(world, 2)
    ticket_assign(ticket=mine, user=world.grace, assignee=world.grace)
    client.force_login(User.objects.get(username="grace"))
    _, response = _queries(client, "/admin/grievances/ticket/?queue=mine")
    assert mine.number in response.content.decode() and other.number not in response.content.decode()
