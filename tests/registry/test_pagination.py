"""The big lists never COUNT a whole table: planner estimates on PostgreSQL, capped counts elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.admin.editing import EstimatedCountPaginator
from registry.models import Individual

pytestmark = pytest.mark.django_db


def people(location, count: int) -> None:
    Individual.objects.bulk_create(
        Individual(given_name=f"G{i}", family_name=f"F{i}", sex="F", location=location) for i in range(count)
    )


class SmallCap(EstimatedCountPaginator):
    cap = 5
    exact_below = 10_000_000


def test_exact_counts_stop_at_the_cap(tree) -> None:
    people(tree.north_a, 8)
    paginator = SmallCap(Individual.objects.order_by("-pk"), 3)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 6
    assert "LIMIT 6" in queries.captured_queries[-1]["sql"]
    assert SmallCap(Individual.objects.filter(given_name="G1").order_by("-pk"), 3).count == 1


def test_big_results_are_estimated_on_postgresql_and_counted_with_a_cap_elsewhere(tree) -> None:
    people(tree.north_a, 3000)
    paginator = EstimatedCountPaginator(Individual.objects.filter(sex="F").order_by("-pk"), 50)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE registry_individual")
        with CaptureQueriesContext(connection) as queries:
            count = paginator.count
        assert paginator.is_estimate and 1500 < count < 6000
        assert all(q["sql"].startswith("EXPLAIN") for q in queries.captured_queries)
    else:
        with CaptureQueriesContext(connection) as queries:
            assert paginator.count == 3000
        assert not paginator.is_estimate and "LIMIT 10001" in queries.captured_queries[-1]["sql"]


def test_the_list_says_about_when_it_estimates(maker, tree) -> None:
    people(tree.north_a, 3)
    client = Client()
    client.force_login(maker)
    response = client.get(reverse("admin:registry_individual_changelist"))
    paginator = response.context["cl"].paginator
    assert isinstance(paginator, EstimatedCountPaginator)
    assert ("about" in response.content.decode()) == paginator.is_estimate


def test_an_empty_queryset_counts_zero(tree) -> None:
    assert EstimatedCountPaginator(Individual.objects.none().order_by("-pk"), 50).count == 0
