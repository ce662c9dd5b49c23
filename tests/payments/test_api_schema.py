"""Schemathesis against the OpenAPI schema: generated requests, valid or not, never get a server error."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from payments.models import Benefit
from tests.payments.conftest import World, sent_payroll

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def provider(world: World, settings, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    sent_payroll(world)
    # As Django's test client does: a request must not close the test's connection (PostgreSQL).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield world
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    # More examples or another seed: SCHEMATHESIS_EXAMPLES=500 pytest ... --hypothesis-seed=7
    max_examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_errors(case, provider: World) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"X-API-Key": provider.key}, checks=[not_a_server_error])
    # Aim requests at real lines too, so the handlers' own checks and writes run, not only the routing.
    references = list(Benefit.objects.order_by("pk").values_list("reference", flat=True))
    aimed = False
    if case.path_parameters and "reference" in case.path_parameters:
        case.path_parameters["reference"] = references[0]
        aimed = True
    if isinstance(case.body, dict) and isinstance(case.body.get("lines"), list):
        for index, line in enumerate(case.body["lines"]):
            if isinstance(line, dict):
                line["reference"] = references[index % len(references)]
                aimed = True
    if aimed:
        case.call_and_validate(
            headers={"X-API-Key": provider.key}, checks=[not_a_server_error, response_schema_conformance]
        )
