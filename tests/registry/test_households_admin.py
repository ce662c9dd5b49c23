"""The household list: head and size without N+1, scope. The page itself: test_household_page.py."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
LIST = reverse("admin:registry_household_changelist")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_head_and_size_without_n_plus_one(
    maker, tree, make_household, django_assert_max_num_queries
) -> None:
    client = client_for(maker)
    for _ in range(3):
        make_household(tree.north_a, members=2)
    client.get(LIST)
    with django_assert_max_num_queries(16) as few:
        client.get(LIST)
    for _ in range(10):
        make_household(tree.north_b, members=3)
    with django_assert_max_num_queries(16) as many:
        response = client.get(LIST)
    assert len(many.captured_queries) == len(few.captured_queries)
    rows = response.context["cl"].result_list
    assert len(rows) == 13 and all(row.head_name for row in rows)


def test_another_locations_household_is_not_found(maker, tree, make_household) -> None:
    household = make_household(tree.south, members=1)
    client = client_for(maker)
    assert client.get(reverse("admin:registry_household_change", args=[household.pk])).status_code == 404
    assert list(client.get(LIST, {"q": household.code}).context["cl"].result_list) == []
