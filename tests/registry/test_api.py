"""The registry API for partner systems: scope, search and keyset pages, writes through the registry's
services and maker-checker, JSON pointers, rate limits and the call trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import ApprovalPolicy, Task, TaskState
from registry.api_clients import ApiAccess, RegistryApiCall, RegistryApiClient, registry_api_client_key_rotate
from registry.models import Individual, RegistrySchema, SchemaKind
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _fresh_throttle(db) -> None:
    caches["throttle"].clear()


@pytest.fixture
def api_client(tree, maker) -> tuple[RegistryApiClient, str]:
    client = RegistryApiClient.objects.create(name="Partner", access=ApiAccess.READ_WRITE, acting_user=maker)
    client.locations.set([tree.north])
    key = registry_api_client_key_rotate(user=make_user("keys", superuser=True), client=client)
    return client, key


@pytest.fixture
def reader(tree) -> str:
    client = RegistryApiClient.objects.create(name="Reader", access=ApiAccess.READ)
    client.locations.set([tree.north_a])
    return registry_api_client_key_rotate(user=make_user("keys2", superuser=True), client=client)


def call(method: str, path: str, key: str, body: Any = None, **query: Any):  # type: ignore[no-untyped-def]
    http = Client()
    url = f"/api/registry/{path}"
    if method == "get":
        return http.get(url, query, HTTP_X_API_KEY=key)
    return getattr(http, method)(url, body, content_type="application/json", HTTP_X_API_KEY=key)


def test_a_search_sees_only_the_clients_locations_with_household_role_and_documents(
    tree, api_client, reader, make_household, make_individual
) -> None:
    _, key = api_client
    household = make_household(tree.north_a, members=2)
    head = household.memberships.get(role="head").individual
    Individual.objects.filter(pk=head.pk).update(family_name="Okafor")
    from registry.services import individual_update

    individual_update(individual=head, documents=[("national_id", "NA-123456")])
    make_individual(tree.south, family_name="Okafor")  # outside every client's scope
    make_individual(tree.north_b, family_name="Okonkwo")  # the partner's, not the reader's

    answer = call("get", "individuals", key, name_prefix="oka")
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [item["id"] for item in items] == [head.pk]
    assert items[0]["household"] == {"id": household.pk, "code": household.code}
    assert items[0]["role"] == "head" and items[0]["is_primary_recipient"] is True
    assert items[0]["documents"] == [{"type": "national_id", "value": "NA-123456"}]

    assert [
        i["id"] for i in call("get", "individuals", key, identity_number="NA-123456").json()["items"]
    ] == [head.pk]
    assert [
        i["id"] for i in call("get", "individuals", key, identity_number_prefix="NA-12").json()["items"]
    ] == [head.pk]
    assert call("get", "individuals", key, identity_number="NA-12").json()["items"] == []
    assert len(call("get", "individuals", key, name_prefix="ok").json()["items"]) == 2
    assert len(call("get", "individuals", reader, name_prefix="ok").json()["items"]) == 1
    assert len(call("get", "individuals", key, location="N-B").json()["items"]) == 1
    south = Individual.objects.get(location=tree.south)
    assert call("get", f"individuals/{south.pk}", key).status_code == 404
    households = call("get", "households", key).json()["items"]
    assert [h["id"] for h in households] == [household.pk] and len(households[0]["members"]) == 2


def test_keyset_pages_walk_everything_once_in_constant_queries(tree, api_client, make_household) -> None:
    _, key = api_client
    households = [make_household(tree.north_a, members=2) for _ in range(4)]
    people = sorted(m.individual_id for h in households for m in h.memberships.all())
    seen: list[int] = []
    counts = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": 3}
        if cursor:
            query["cursor"] = cursor
        with CaptureQueriesContext(connection) as queries:
            page = call("get", "individuals", key, **query).json()
        counts.append(len(queries))
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == people
    # The same queries for every page whatever it holds (no per-row lookup): key, rate, page, documents,
    # memberships with households, the call row; the first page also writes the key's last-used time.
    assert counts[1:] == [counts[1]] * (len(counts) - 1) and counts[0] <= counts[1] + 1
    with CaptureQueriesContext(connection) as queries:
        call("get", "individuals", key, limit=8)
    assert len(queries) == counts[1]


def test_modified_since_pages_follow_the_change_time(tree, api_client, make_individual) -> None:
    _, key = api_client
    old = make_individual(tree.north_a)
    Individual.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    recent = [make_individual(tree.north_a).pk for _ in range(3)]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    first = call("get", "individuals", key, modified_since=since, limit=2).json()
    second = call(
        "get", "individuals", key, modified_since=since, limit=2, cursor=first["next_cursor"]
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == recent
    assert second["next_cursor"] is None


def test_bad_search_input_is_named_by_pointer(tree, api_client) -> None:
    _, key = api_client
    answer = call("get", "individuals", key, cursor="not-a-cursor")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"] == "/query/cursor"
    answer = call("get", "individuals", key, field="nosuchfield=1")
    assert answer.status_code == 422 and answer.json()["errors"][0]["pointer"] == "/query/field/0"
    answer = call("get", "individuals", key, location="N\x00A")  # PostgreSQL cannot compare NULs: 422
    assert answer.status_code == 422
    answer = call("get", "individuals", key, limit=100000)
    assert answer.status_code == 422 and answer.json()["errors"][0]["pointer"].endswith("/limit")


def test_custom_field_search(tree, api_client, make_individual) -> None:
    _, key = api_client
    RegistrySchema.objects.update_or_create(
        kind=SchemaKind.INDIVIDUAL,
        defaults={"schema": {"type": "object", "properties": {"disability": {"type": "boolean"}}}},
    )
    yes = make_individual(tree.north_a, data={"disability": True})
    make_individual(tree.north_a, data={"disability": False})
    items = call("get", "individuals", key, field="disability=true").json()["items"]
    assert [i["id"] for i in items] == [yes.pk]


def test_create_a_person_through_the_registry_service(tree, api_client) -> None:
    client, key = api_client
    body = {
        "given_name": "Ama",
        "family_name": "Mensah",
        "sex": "F",
        "location": "N-A",
        "birth_date": "1990-05-01",
        "documents": [{"type": "national_id", "value": "GH-1"}],
    }
    answer = call("post", "individuals", key, body)
    assert answer.status_code == 201, answer.content
    person = Individual.objects.get(pk=answer.json()["id"])
    assert person.registration_source == "api" and person.documents.get().value == "GH-1"
    # The same identity number again: refused by the service's check, with its pointer, nothing stored.
    again = call("post", "individuals", key, {**body, "given_name": "Other"})
    assert again.status_code == 422
    assert again.json()["errors"][0]["pointer"] == "/documents"
    assert Individual.objects.count() == 1
    # Outside the client's locations.
    outside = call("post", "individuals", key, {**body, "location": "S", "documents": []})
    assert outside.status_code == 403 and outside.json()["errors"][0]["pointer"] == "/location"
    bad = call("post", "individuals", key, {**body, "sex": "Q", "birth_date": "2999-01-01", "documents": []})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/sex", "/birth_date"}


def test_a_read_only_client_may_not_write(tree, reader) -> None:
    body = {"given_name": "A", "family_name": "B", "sex": "F", "location": "N-A"}
    answer = call("post", "individuals", reader, body)
    assert answer.status_code == 403 and not Individual.objects.exists()


def test_a_change_needing_approval_answers_202_with_its_task(
    tree, api_client, make_individual, checker
) -> None:
    _, key = api_client
    person = make_individual(tree.north_a, phone="+1")
    answer = call("patch", f"individuals/{person.pk}", key, {"phone": "+2"})
    assert answer.status_code == 202, answer.content
    task = Task.objects.get(pk=answer.json()["task"])
    assert answer.json()["state"] == TaskState.PENDING == task.state
    person.refresh_from_db()
    assert person.phone == "+1"  # waits for the checker
    # An invalid change is refused before any task is made.
    answer = call("patch", f"individuals/{person.pk}", key, {"birth_date": "2999-01-01"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["pointer"] == "/birth_date"


def test_a_change_without_approval_runs_at_once(tree, api_client, make_individual) -> None:
    _, key = api_client
    from approvals.services import policy_get_or_create

    policy_get_or_create(action="registry.update")
    ApprovalPolicy.objects.filter(action="registry.update").update(requires_approval=False)
    person = make_individual(tree.north_a, phone="+1")
    answer = call("patch", f"individuals/{person.pk}", key, {"phone": "+2"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["phone"] == "+2"


def test_create_a_household_with_members(tree, api_client, make_individual) -> None:
    _, key = api_client
    head, child = make_individual(tree.north_a), make_individual(tree.north_a)
    south = make_individual(tree.south)
    body = {
        "code": "HH-API-1",
        "location": "N-A",
        "members": [{"individual": head.pk, "role": "head"}, {"individual": south.pk, "role": "child"}],
    }
    answer = call("post", "households", key, body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["pointer"] == "/members/1/individual"
    body["members"][1]["individual"] = child.pk
    answer = call("post", "households", key, body)
    assert answer.status_code == 201, answer.content
    assert answer.json()["size"] == 2


def test_rate_limit_answers_429_with_retry_after(tree, api_client) -> None:
    client, key = api_client
    RegistryApiClient.objects.filter(pk=client.pk).update(rate_per_minute=2)
    assert call("get", "individuals", key).status_code == 200
    assert call("get", "individuals", key).status_code == 200
    answer = call("get", "individuals", key)
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0


def test_every_call_is_on_the_trail(tree, api_client, make_individual) -> None:
    client, key = api_client
    make_individual(tree.north_a)
    call("get", "individuals", key)
    call("get", "individuals", key, cursor="bad")
    call("get", "individuals", key, limit="many")  # refused by the schema (portal/api.py's handler)
    call("get", "individuals", "wrong-key")
    calls = list(RegistryApiCall.objects.order_by("pk").values_list("client_id", "status", "records"))
    assert calls == [(client.pk, 200, 1), (client.pk, 422, 0), (client.pk, 422, 0)]
