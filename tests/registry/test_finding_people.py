"""Finding people: identity numbers by prefix (index-served), how many match, the columns one chooses."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from registry.filters import individual_filterset
from registry.models import Individual, SearchColumns
from registry.selectors import documents_matching, match_count
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SEARCH = "/admin/registry/search/individuals/"
COLUMNS = reverse("admin:registry_search_columns", args=["individual"])


@pytest.fixture
def numbered(tree, make_individual) -> dict[str, Individual]:
    return {
        "a": make_individual(tree.north_a, given_name="Ada", documents=[("national_id", "1987-0001")]),
        "b": make_individual(tree.north_a, given_name="Ben", documents=[("national_id", "1987-0002")]),
        "c": make_individual(tree.north_a, given_name="Cy", documents=[("passport", "P1987")]),
        "d": make_individual(tree.south, given_name="Dee", documents=[("national_id", "1987-0003")]),
    }


def found(user, document: str) -> set[str]:
    return set(
        individual_filterset({"document": document}, user=user).qs.values_list("given_name", flat=True)
    )


def test_identity_number_exact_and_by_prefix(maker, numbered) -> None:
    assert found(maker, "1987-0001") == {"Ada"}
    assert found(maker, "1987*") == {"Ada", "Ben"}  # Dee is outside the maker's locations
    assert found(maker, "1987-000*") == {"Ada", "Ben"}
    assert found(maker, "P19*") == {"Cy"}
    assert found(maker, "19*") == set()  # too short a prefix is taken as typed: no number is "19"
    assert found(maker, "1987") == set()  # no star: exact


def test_the_individuals_list_search_takes_a_prefix_too(maker, numbered) -> None:
    client = Client()
    client.force_login(maker)
    response = client.get(reverse("admin:registry_individual_changelist"), {"q": "1987-*"})
    assert {person.given_name for person in response.context["cl"].result_list} == {"Ada", "Ben"}


@pytest.mark.postgres
def test_the_prefix_search_is_served_by_the_identity_number_index(maker, numbered) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the query plan is PostgreSQL's")
    # The documents the condition looks up, planned without sequential scans: the unique (value, type) index
    # must drive them by an index condition, for a prefix as for an exact number. (On a tiny table the
    # planner may prefer the per-person index for the whole search, filtering each person's few documents.)
    for term in ("1987*", "1987-0001"):
        documents = documents_matching(term)
        assert documents is not None
        sql, params = documents.values("individual_id").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            raw = cursor.fetchone()[0]
        plan = json.dumps(raw if isinstance(raw, list) else json.loads(raw))
        assert '"Index Name": "identity_document_unique"' in plan and "Index Cond" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_the_search_says_how_many_records_match(maker, numbered) -> None:
    client = Client()
    client.force_login(maker)
    html = client.get(SEARCH, {"document": "1987*"}).content.decode()
    assert "2 records match." in html
    assert "1 record matches." in client.get(SEARCH, {"document": "P1987"}).content.decode()


def test_the_count_is_capped_then_estimated_on_postgresql(maker, numbered) -> None:
    people = Individual.objects.all()
    assert match_count(people) == match_count(people, cap=10)
    capped = match_count(people, cap=2, exact_below=10**9)
    assert capped.count == 2 and capped.is_capped and not capped.is_estimate
    if connection.vendor == "postgresql":
        estimated = match_count(people, exact_below=0)
        assert estimated.is_estimate and estimated.count >= 1
    else:
        assert not match_count(people, exact_below=0).is_estimate


def test_chosen_columns_are_remembered_per_user(maker, tree, numbered) -> None:
    client = Client()
    client.force_login(maker)
    response = client.post(
        COLUMNS, {"columns": ["family_name", "given_name", "cf_disability"], "query": "sex=F"}
    )
    assert response.status_code == 302 and response["Location"] == f"{SEARCH}?sex=F"
    assert SearchColumns.objects.get(user=maker).columns == [
        "id",
        "family_name",
        "given_name",
        "cf_disability",
    ]
    table = client.get(SEARCH).context["table"]
    assert [column.name for column in table.columns] == ["id", "family_name", "given_name", "cf_disability"]
    other = make_user("other", roles=("Registry officer",), locations=(tree.north,))
    client.force_login(other)
    assert "birth_date" in [column.name for column in client.get(SEARCH).context["table"].columns]


def test_unknown_columns_are_refused_and_get_changes_nothing(maker, numbered) -> None:
    client = Client()
    client.force_login(maker)
    response = client.post(COLUMNS, {"columns": ["given_name", "salary"]}, follow=True)
    assert "Unknown column(s): salary." in [str(m) for m in response.context["messages"]]
    assert client.get(COLUMNS).status_code == 405
    assert not SearchColumns.objects.exists()
