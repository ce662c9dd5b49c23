"""Schemathesis against the registry API's OpenAPI schema: generated requests, valid or not, with a
read-write client's key, never get a server error; aimed at real people and households, answers match the
schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from registry.api_clients import ApiAccess, RegistryApiClient, registry_api_client_key_rotate
from tests.conftest import make_user

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/registry/"
)


@pytest.fixture
def partner(tree, maker, make_household) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    caches["throttle"].clear()
    client = RegistryApiClient.objects.create(
        name="Schema partner", access=ApiAccess.READ_WRITE, acting_user=maker, rate_per_minute=1_000_000
    )
    client.locations.set([tree.north])
    household = make_household(tree.north_a, members=2)
    key = registry_api_client_key_rotate(user=make_user("schema-keys", superuser=True), client=client)
    # As Django's test client does: a request must not close the test's connection (PostgreSQL).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {
        "key": key,
        "individual_id": household.memberships.first().individual_id,
        "household_id": household.pk,
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    # More examples or another seed: SCHEMATHESIS_EXAMPLES=500 pytest ... --hypothesis-seed=7
    max_examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_errors(case, partner: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    headers = {"X-API-Key": partner["key"]}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
    if case.path_parameters:
        # Aim at the real person and household too, so the handlers' own checks and writes run.
        for name in ("individual_id", "household_id"):
            if name in case.path_parameters:
                case.path_parameters[name] = partner[name]
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
