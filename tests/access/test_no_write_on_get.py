"""No state change on GET: every route of the URL configuration, requested with GET in the access matrix's
world by the superuser and a scoped officer (and a payment provider's key on /api/), runs no INSERT, UPDATE
or DELETE; nor do the pages of records whose approval task ended unheard (a page never syncs them).

Shares the matrix's world fixture (`actors`, tests/access/conftest.py): one build for this module, each
request inside the test's own savepoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.access.answers import body, close
from tests.access.matrix import MATRIX
from tests.access.routes import Route, route_url, routes
from tests.access.world import OFFICER_A, PROVIDER_A, SUPERUSER

# Statements that change stored state. A CTE is read up to its first write keyword.
WRITE = re.compile(r"^\s*(?:WITH\b.*?\b)?(INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE)\b", re.I | re.S)

# Framework writes a GET may make, as (table, why). Each entry must say why:
# - the session row is written once, when the fixture signs each actor in; a GET reads it (no
#   SESSION_SAVE_EVERY_REQUEST, and messages live in their cookie), so session saves are not allowed;
# - django-axes writes its access log and attempts on the login POST, never on a GET;
# - django-tasks rows are written when a job is queued, which only a POST does.
# - a wrong API key is counted per address whatever the method (portal.middleware.ApiKeyThrottleMiddleware),
#   or a GET route of the API (grievances' ticket status) would let anyone guess keys without limit.
# A write that appears here one day is a state change on GET unless it is such a framework write.
ALLOWED_WRITES: tuple[tuple[str, str], ...] = (
    ("portal_throttle_cache", "wrong API keys counted per address, on every method"),
)


def writes_in(statements: list[dict[str, Any]]) -> list[str]:
    """The writing statements, less the allowed framework writes."""
    found = []
    for statement in statements:
        sql = statement["sql"]
        if WRITE.match(sql) and not any(
            f'"{table}"' in sql or f" {table} " in sql for table, _ in ALLOWED_WRITES
        ):
            found.append(sql[:300])
    return found


@contextmanager
def captured() -> Iterator[list[dict[str, Any]]]:
    """Every statement of every database connection run inside the block."""
    statements: list[dict[str, Any]] = []
    with ExitStack() as stack:
        contexts = [
            stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in connections
            # A test mirror (the replica in the test settings) reads through its primary's connection.
            if not connections.settings[alias].get("TEST", {}).get("MIRROR")
        ]
        yield statements
    for context in contexts:
        statements.extend(context.captured_queries)


def get_writes(client: Any, url: str) -> tuple[int, list[str]]:
    """GET `url` (its body read, so a streamed export runs to its end) and the writes it made."""
    with captured() as statements:
        response = client.get(url)
        body(response)
    close(response)
    return response.status_code, writes_in(statements)


def test_the_write_detector_sees_writes_and_ignores_reads() -> None:
    statements = [
        {"sql": 'SELECT "x" FROM "registry_individual" WHERE "y" = 1 FOR UPDATE'},
        {"sql": 'SAVEPOINT "s1"'},
        {"sql": 'UPDATE "uploads_importbatch" SET "state" = 1'},
        {"sql": 'INSERT INTO "django_session" VALUES (1)'},
        {"sql": '  delete from "payments_benefit"'},
        {"sql": 'WITH moved AS (DELETE FROM "a" RETURNING *) SELECT * FROM moved'},
    ]
    assert [sql.split()[0].upper() for sql in writes_in(statements)] == ["UPDATE", "INSERT", "DELETE", "WITH"]


@cache
def _get_routes() -> list[Route]:
    return [route for route in routes() if route.key in MATRIX]


def _cells() -> list[Any]:
    cells = []
    for route in _get_routes():
        actors = (
            (SUPERUSER, OFFICER_A, PROVIDER_A) if route.pattern.startswith("api/") else (SUPERUSER, OFFICER_A)
        )
        cells += [pytest.param(route, actor, id=f"{route.key}|{actor}") for actor in actors]
    return cells


@pytest.mark.parametrize(("route", "actor"), _cells())
def test_get_writes_nothing(actors, db, route: Route, actor: str) -> None:
    url = route_url(actors.world, route)
    status, writes = get_writes(actors.client(actor), url)
    assert writes == [], f"GET {url} as {actor} ({status}) wrote:\n" + "\n".join(writes)


# --- records whose task ended without the receivers hearing it: their pages must not bring them in line ---


def test_an_upload_awaiting_a_task_that_ended_is_not_synced_by_its_page(actors, db) -> None:
    from django.contrib.contenttypes.models import ContentType

    from approvals.models import Task, TaskState
    from uploads.models import BatchState, ImportBatch

    world = actors.world
    batch = world.objects["batch"]
    task = Task.objects.create(
        action="uploads.commit",
        content_type=ContentType.objects.get_for_model(ImportBatch),
        object_id=batch.pk,
        maker=world.users[OFFICER_A],
    )
    # Its commit was requested and rejected, and no receiver heard the end.
    Task.objects.filter(pk=task.pk).update(state=TaskState.REJECTED)
    ImportBatch.objects.filter(pk=batch.pk).update(state=BatchState.AWAITING_APPROVAL, task=task)
    for actor in (SUPERUSER, OFFICER_A):
        url = reverse("admin:uploads_importbatch_change", args=[batch.pk])
        status, writes = get_writes(actors.client(actor), url)
        assert status == 200 and writes == [], writes
    assert ImportBatch.objects.get(pk=batch.pk).state == BatchState.AWAITING_APPROVAL


def test_a_payroll_awaiting_a_task_that_ended_is_not_synced_by_its_page(actors, db) -> None:
    from approvals.models import Task, TaskState
    from payments.models import Payroll

    world = actors.world
    payroll = world.objects["payroll"]
    Payroll.objects.filter(pk=payroll.pk).update(status="awaiting_approval")
    Task.objects.filter(action="payments.payroll_approve", object_id=payroll.pk).update(
        state=TaskState.REJECTED
    )
    url = reverse("admin:payments_payroll_change", args=[payroll.pk])
    status, writes = get_writes(actors.client(OFFICER_A), url)
    assert status == 200 and writes == [], writes


def test_a_dead_job_is_not_failed_by_viewing_it(actors, db) -> None:
    """Dead jobs are failed by the sweep (jobs.recovery), never by a page or a progress poll."""
    from jobs.models import Job, JobState

    job = actors.world.objects["job"]
    past = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, lease_expires_at=past, heartbeat_at=past)
    for name in ("admin:jobs_job_change", "admin:jobs_job_progress"):
        url = reverse(name, args=[job.pk])
        status, writes = get_writes(actors.client(OFFICER_A), url)
        assert status == 200 and writes == [], (url, writes)
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING
