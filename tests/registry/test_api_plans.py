"""The registry API's list queries, as PostgreSQL plans them: each search reads an index and stops at a page
(keyset: no OFFSET, no COUNT), so a page stays fast at a million people (bench/registry_api.py measures)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registry.api_clients import ApiAccess, RegistryApiClient, registry_api_client_key_rotate
from registry.services import individual_update
from tests.conftest import make_user

pytestmark = pytest.mark.postgres


@pytest.fixture
def key(tree, make_household) -> str:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the query plan is PostgreSQL's")
    caches["throttle"].clear()
    for index, location in enumerate((tree.north_a, tree.north_b, tree.south)):
        household = make_household(location, members=3)
        head = household.memberships.get(role="head").individual
        individual_update(individual=head, documents=[("national_id", f"NI-{index:04d}")])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_individual, registry_household, registry_identitydocument")
    client = RegistryApiClient.objects.create(name="Plans", access=ApiAccess.READ, rate_per_minute=10_000)
    client.locations.set([tree.north])
    return registry_api_client_key_rotate(user=make_user("plans-keys", superuser=True), client=client)


def _page_plan(key: str, path: str, **query: Any) -> str:
    table = f'FROM "registry_{path[:-1]}"'
    with CaptureQueriesContext(connection) as captured:
        answer = Client().get(f"/api/registry/{path}", query, HTTP_X_API_KEY=key)
    assert answer.status_code == 200, answer.content
    sql = next(q["sql"] for q in captured.captured_queries if table in q["sql"] and "LIMIT" in q["sql"])
    assert "OFFSET" not in sql and "COUNT(" not in sql.upper()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny test table would be read whole
        cursor.execute("SET LOCAL enable_sort = off")  # a sort would read every matching row first
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_plain_page_walks_the_primary_key(key) -> None:
    plan = _page_plan(key, "individuals", limit=2)
    assert "registry_individual_pkey" in plan and "Sort" not in plan.split("->")[0], plan


def test_modified_since_walks_the_change_time_index(key) -> None:
    plan = _page_plan(key, "individuals", modified_since="2000-01-01T00:00:00Z", limit=2)
    assert "individual_updated_idx" in plan, plan
    households = _page_plan(key, "households", modified_since="2000-01-01T00:00:00Z", limit=2)
    assert "household_updated_idx" in households, households


def test_identity_numbers_by_prefix_and_exactly_read_the_document_indexes(key) -> None:
    # The search's condition on documents (a semi-join): its rows come off the document indexes; whether the
    # planner starts from them or from the people depends on how many match (bench/registry_api.py times it).
    assert _page_plan(key, "individuals", identity_number_prefix="NI-00")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT individual_id FROM registry_identitydocument WHERE value LIKE %s", ["NI-00%"]
        )
        prefix = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(
            "EXPLAIN SELECT individual_id FROM registry_identitydocument WHERE value = %s", ["NI-0001"]
        )
        exact = "\n".join(row[0] for row in cursor.fetchall())
    # One index serves both: the (value, type) unique index in varchar_pattern_ops (registry migration 0010).
    assert "identity_document_unique" in prefix, prefix
    assert "identity_document_unique" in exact, exact
