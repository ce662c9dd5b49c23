"""Reads on replicas, decided per request: eligible GETs read the replica; writes and all else the primary.

Runs on both databases against Django's test mirror: the "replica" alias is a second connection to the test
database (`TEST: {"MIRROR": "default"}`), routed to once a test sets DATABASE_REPLICAS. The real streaming
replica is in test_replica_streaming.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import connections, router, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from jobs.models import Job
from portal import db_router
from portal.middleware import ReplicaReadsMiddleware
from registry.models import Individual, Location

ROOT = Path(__file__).resolve().parents[2]
BOTH = ["default", "replica"]


@pytest.fixture
def replicas(settings):
    settings.DATABASE_REPLICAS = ["replica"]
    settings.DATABASE_REPLICA_STICKY_SECONDS = 10
    return settings


def _settings_in_a_process(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    code = (
        "import json, portal.settings as s; print(json.dumps([sorted(s.DATABASES), s.DATABASE_REPLICAS, "
        "{a: s.DATABASES[a]['TEST'] for a in s.DATABASE_REPLICAS}]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_ENV": "development", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_replica_url_there_is_one_database(tmp_path):
    result = _settings_in_a_process(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["default"], [], {}]


def test_replica_urls_become_replica_aliases_mirrored_in_tests():
    result = _settings_in_a_process(
        DATABASE_URL="postgres://portal@db1:5432/portal",
        DATABASE_REPLICA_URL="postgres://portal@db2:5432/portal, postgres://portal@db3:5432/portal",
    )
    assert result.returncode == 0, result.stderr
    aliases, replicas, tests = json.loads(result.stdout)
    assert aliases == ["default", "progress", "replica", "replica2"]
    assert replicas == ["replica", "replica2"]
    assert tests == {"replica": {"MIRROR": "default"}, "replica2": {"MIRROR": "default"}}


def test_a_replica_needs_postgresql(tmp_path):
    result = _settings_in_a_process(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DATABASE_REPLICA_URL="postgres://portal@db2/portal",
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL" in result.stderr and "must be a PostgreSQL replica" in result.stderr


@pytest.mark.parametrize(
    ("path", "eligible"),
    [
        ("/admin/", True),  # dashboard
        ("/admin/registry/individual/", True),  # a list and its search
        ("/admin/registry/search/individuals/", True),
        ("/admin/reports/report/1/view/", True),
        ("/admin/reports/report/1/export/csv/", True),
        ("/admin/programs/beneficiary/export.csv", True),
        ("/api/docs", True),
        ("/admin/registry/individual/1/change/", False),  # a form: it is about to be saved
        ("/admin/jobs/job/1/progress.json", False),
        ("/admin/login/", False),
    ],
)
def test_eligible_views_are_named_in_one_place(path, eligible):
    assert db_router.url_name_reads_replica(resolve(path)) is eligible


def test_outside_a_request_reads_the_primary(replicas, db):
    """Job workers and commands: no request state, so the primary, unless a block asks for the replica."""
    assert router.db_for_read(Individual) == "default"
    with db_router.replica_reads() as alias:
        assert alias == "replica"
        assert router.db_for_read(Individual) == "replica"
    assert router.db_for_read(Individual) == "default"


def test_without_replicas_nothing_is_routed(db):
    with db_router.replica_reads() as alias:
        assert alias is None
        assert router.db_for_read(Individual) == "default"
        assert router.db_for_write(Individual) == "default"


def test_writes_and_write_transactions_stay_on_the_primary(replicas, db):
    with db_router.replica_reads():
        assert router.db_for_read(Location) == "replica"
        with transaction.atomic():
            assert router.db_for_read(Location) == "default"
        assert router.db_for_read(Location) == "replica"
        assert router.db_for_write(Location) == "default"
        assert router.db_for_read(Location) == "default"  # after its own write the request reads the primary


def test_tables_that_must_be_current_are_read_on_the_primary(replicas, db):
    with db_router.replica_reads():
        assert router.db_for_read(Session) == "default"
        assert router.db_for_read(Job) == "default"
        assert router.db_for_read(Individual) == "replica"


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_rows_read_on_the_replica_are_saved_on_the_primary(replicas):
    connections["replica"].close()
    Location.objects.create(code="N", name="North")
    with db_router.replica_reads():
        north = Location.objects.get(code="N")
        assert north._state.db == "replica"
        south = Location(code="S", name="South", parent=north)  # a relation across the two aliases
        south.save()
    assert south._state.db == "default"
    assert Location.objects.using("default").get(code="S").parent_id == north.pk


def _middleware_run(method: str, path: str, view, cookies: dict[str, str] | None = None):
    request = getattr(RequestFactory(), method.lower())(path)
    request.COOKIES.update(cookies or {})
    request.resolver_match = resolve(path)
    middleware = ReplicaReadsMiddleware(
        lambda req: (middleware.process_view(req, view, (), {}), view(req))[1]
    )
    return middleware(request)


def _read_target(request) -> HttpResponse:
    return HttpResponse(router.db_for_read(Individual))


def test_safe_request_to_an_eligible_view_reads_the_replica_and_a_post_reads_the_primary(replicas):
    assert _middleware_run("GET", "/admin/", _read_target).content == b"replica"
    assert _middleware_run("GET", "/admin/registry/individual/1/change/", _read_target).content == b"default"
    posted = _middleware_run("POST", "/admin/", _read_target)
    assert posted.content == b"default"
    assert router.db_for_read(Individual) == "default"  # the state ends with the request


def test_a_write_keeps_the_browser_on_the_primary_for_the_sticky_window(replicas):
    posted = _middleware_run("POST", "/admin/registry/individual/1/change/", _read_target)
    cookie = posted.cookies[db_router.STICKY_COOKIE]
    assert cookie["max-age"] == 10 and cookie["httponly"]
    fresh = {db_router.STICKY_COOKIE: cookie.value}
    assert _middleware_run("GET", "/admin/", _read_target, fresh).content == b"default"

    with mock.patch("time.time", return_value=time.time() - 11):
        old = signing.get_cookie_signer(salt=db_router.STICKY_COOKIE + db_router.STICKY_SALT).sign("1")
    assert (
        _middleware_run("GET", "/admin/", _read_target, {db_router.STICKY_COOKIE: old}).content == b"replica"
    )
    forged = {db_router.STICKY_COOKIE: "1"}  # unsigned: ignored
    assert _middleware_run("GET", "/admin/", _read_target, forged).content == b"replica"
    assert db_router.STICKY_COOKIE not in _middleware_run("GET", "/admin/", _read_target).cookies


def test_a_streamed_export_reads_the_replica_while_the_server_iterates(replicas):
    def export(request) -> StreamingHttpResponse:
        return StreamingHttpResponse(router.db_for_read(Individual) for _ in range(3))

    response = _middleware_run("GET", "/admin/programs/beneficiary/export.csv", export)
    assert router.db_for_read(Individual) == "default"  # the middleware has returned
    assert b"".join(response.streaming_content) == b"replica" * 3
    assert router.db_for_read(Individual) == "default"


def test_without_replicas_the_middleware_does_nothing():
    response = _middleware_run("POST", "/admin/", _read_target)
    assert response.content == b"default" and db_router.STICKY_COOKIE not in response.cookies


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_pages_through_the_client(replicas, client, tree, administrator):
    """The dashboard's queries run on the replica connection; after a POST, and on forms, on the primary."""
    client.force_login(administrator)
    replica = connections["replica"]

    with CaptureQueriesContext(replica) as on_replica:
        assert client.get(reverse("admin:index")).status_code == 200
    assert any("registry_location" in query["sql"] for query in on_replica.captured_queries)

    with CaptureQueriesContext(replica) as on_replica:
        change = client.get(reverse("admin:registry_location_change", args=[tree.north.pk]))
    assert change.status_code == 200 and len(on_replica) == 0

    with CaptureQueriesContext(replica) as on_replica:
        posted = client.post(reverse("admin:portal_dashboard_refresh"))
        assert posted.status_code == 302 and db_router.STICKY_COOKIE in posted.cookies
        assert client.get(reverse("admin:index")).status_code == 200
    assert len(on_replica) == 0

    client.cookies.pop(db_router.STICKY_COOKIE)
    with CaptureQueriesContext(replica) as on_replica:
        assert client.get(reverse("admin:registry_location_changelist")).status_code == 200
    assert len(on_replica) > 0
