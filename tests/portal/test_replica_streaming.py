"""Reads on a real PostgreSQL streaming replica: a read the router sends to the replica lands on a standby.

The set-up starts a second PostgreSQL on this machine, in a temporary directory and on a free port, as a
streaming replica (pg_basebackup -R) of the test database's server. When that server refuses replication
connections (pg_hba.conf has no `replication` line, as Debian's default), the set-up starts a throwaway
primary of its own beside it, loads it with the test database's schema (pg_dump --schema-only) and streams
from that instead; the routing under test is the same. Both servers run as the `postgres` OS user when
the tests run as root, and are stopped and deleted at the end. PostgreSQL only (the `postgres` marker).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, connections, router
from django.db.utils import load_backend
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from psycopg2.extras import PhysicalReplicationConnection

from portal import db_router
from portal.middleware import ReplicaReadsMiddleware

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="streaming replication is PostgreSQL's"),
]

WAIT_SECONDS = 90  # a failure guard on a loaded machine, never a measure
# Settings a hot standby needs at least as high as its primary's.
STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


@dataclass
class Server:
    """A PostgreSQL server this test set-up started, and how to stop it."""

    data: Path
    port: int
    bin: Path
    log: Path

    def stop(self) -> None:
        _run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            check=False,
        )


@dataclass
class StreamingReplica:
    primary_alias: str  # writes of the test: the replica's primary, in autocommit
    replica_alias: str
    replica: Server
    borrowed_primary: bool  # False when the set-up had to start a primary of its own


def _run(command: list[str], *, check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=WAIT_SECONDS, **kwargs)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL's server programs refuse root: run them as the `postgres` OS user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _owned_by_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_bin(major: int) -> Path:
    exact = Path(f"/usr/lib/postgresql/{major}/bin")
    if (exact / "pg_basebackup").exists():
        return exact
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    on_path = shutil.which("pg_basebackup")
    if not found and not on_path:
        pytest.fail("No PostgreSQL server programs (pg_basebackup, pg_ctl) under /usr/lib/postgresql/*/bin")
    return Path(found[-1] if found else on_path).parent  # type: ignore[arg-type]


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def _replication_refusal(host: str, port: int, user: str) -> str | None:
    """Why the server refuses a replication connection, or None when it accepts one."""
    try:
        probe = psycopg2.connect(
            host=host, port=port, user=user, connection_factory=PhysicalReplicationConnection
        )
    except psycopg2.OperationalError as exc:
        return str(exc).strip()
    probe.close()
    return None


def _conf_write(data: Path, tmp: Path, port: int, extra: dict[str, str]) -> None:
    lines = {
        "port": str(port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{tmp}'",
        "fsync": "off",
        "ssl": "off",
        "logging_collector": "off",
        **extra,
    }
    (data / "postgresql.conf").write_text("".join(f"{key} = {value}\n" for key, value in lines.items()))
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        "local replication all trust\nhost replication all 127.0.0.1/32 trust\n"
    )
    (data / "pg_ident.conf").write_text("")
    for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
        _owned_by_server_user(data / name)


def _start(server: Server) -> None:
    pg_ctl = str(server.bin / "pg_ctl")
    _run(_as_postgres([pg_ctl, "-D", str(server.data), "-l", str(server.log), "-w", "-t", "90", "start"]))


def _client(bin_dir: Path, program: str, address: tuple[str, int | str], user: str, *args: str) -> list[str]:
    return [str(bin_dir / program), "-h", address[0], "-p", str(address[1]), "-U", user, *args]


def _throwaway_primary(tmp: Path, bin_dir: Path, database: dict, user: str) -> Server:
    """A primary of our own, with the test database's schema, for a server that refuses replication."""
    server = Server(data=tmp / "primary", port=_free_port(), bin=bin_dir, log=tmp / "primary.log")
    initdb = str(bin_dir / "initdb")
    _run(_as_postgres([initdb, "-D", str(server.data), "-U", user, "-A", "trust", "--no-sync"]))
    _conf_write(server.data, tmp, server.port, {"wal_level": "replica", "max_wal_senders": "4"})
    _start(server)
    name = database["NAME"]
    ours, tests = ("127.0.0.1", server.port), (database["HOST"] or "127.0.0.1", database["PORT"] or 5432)
    _run(_client(bin_dir, "psql", ours, user, "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'))
    schema = _run(_client(bin_dir, "pg_dump", tests, user, "--schema-only", "--no-owner", name))
    _run(_client(bin_dir, "psql", ours, user, "-q", "-v", "ON_ERROR_STOP=1", "-d", name), input=schema.stdout)
    return server


def _alias_add(alias: str, settings_dict: dict) -> None:
    """A connection made here, not in DATABASES: the test case lets such connections through."""
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)


def _alias_remove(alias: str) -> None:
    try:
        made = connections[alias]
    except Exception:  # never added: the set-up failed before
        return
    made.close()
    del connections[alias]


@pytest.fixture
def streaming_replica(db, settings, monkeypatch) -> Iterator[StreamingReplica]:
    default = connections["default"].settings_dict
    if default.get("PASSWORD"):
        monkeypatch.setenv("PGPASSWORD", default["PASSWORD"])  # for the client programs and the probe
    host, port = default["HOST"] or "127.0.0.1", int(default["PORT"] or 5432)
    user = default["USER"] or "postgres"
    bin_dir = _server_bin(int(_show("server_version_num")) // 10000)
    tmp = Path(tempfile.mkdtemp(prefix="portal-replica-"))
    _owned_by_server_user(tmp)
    servers: list[Server] = []
    try:
        refusal = _replication_refusal(host, port, user)
        if refusal is None:
            primary_settings = {**default}
        else:
            primary = _throwaway_primary(tmp, bin_dir, default, user)
            servers.append(primary)
            host, port = "127.0.0.1", primary.port
            primary_settings = {**default, "HOST": host, "PORT": str(port)}

        replica = Server(data=tmp / "replica", port=_free_port(), bin=bin_dir, log=tmp / "replica.log")
        backup = ["-D", str(replica.data), "-X", "stream", "-R", "-c", "fast", "--no-sync"]
        _run(_as_postgres(_client(bin_dir, "pg_basebackup", (host, port), user, *backup)))
        minimums = {name: _show(name) for name in STANDBY_MINIMUMS} if refusal is None else {}
        _conf_write(replica.data, tmp, replica.port, {"hot_standby": "on", **minimums})
        servers.append(replica)
        _start(replica)

        _alias_add("replica_source", {**primary_settings, "CONN_MAX_AGE": 0})
        replica_settings = {**default, "HOST": "127.0.0.1", "PORT": str(replica.port), "CONN_MAX_AGE": 0}
        _alias_add("replica_real", replica_settings)
        settings.DATABASE_REPLICAS = ["replica_real"]
        yield StreamingReplica("replica_source", "replica_real", replica, borrowed_primary=refusal is None)
    finally:
        for alias in ("replica_source", "replica_real"):
            _alias_remove(alias)
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up waiting for {what}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


def _in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


def test_a_read_routed_to_the_replica_lands_on_the_streaming_standby(streaming_replica: StreamingReplica):
    replica, primary = streaming_replica.replica_alias, streaming_replica.primary_alias
    assert _in_recovery(replica) is True
    assert _in_recovery(primary) is False
    with pytest.raises(DatabaseError, match="read-only"):
        Group.objects.using(replica).create(name="never")

    name = f"replica-check-{uuid.uuid4().hex[:12]}"
    Group.objects.using(primary).create(name=name)  # committed on the primary
    try:
        with db_router.replica_reads() as alias:
            assert alias == replica
            _wait_for(
                lambda: Group.objects.filter(name=name).exists(),
                "the row to replay",
                streaming_replica.replica.log,
            )
            with CaptureQueriesContext(connections[replica]) as on_replica:
                group = Group.objects.get(name=name)
            assert group._state.db == replica and len(on_replica) == 1
        assert router.db_for_read(Group) == "default"  # outside an eligible request: the primary

        # A GET of an admin list, through the middleware that decides eligibility, reads the standby.
        def view(request) -> HttpResponse:
            alias = router.db_for_read(Group)
            return HttpResponse(f"{alias} {_in_recovery(alias)} {Group.objects.filter(name=name).exists()}")

        request = RequestFactory().get("/admin/auth/group/")
        request.resolver_match = resolve(request.path)
        middleware = ReplicaReadsMiddleware(lambda r: (middleware.process_view(r, view, (), {}), view(r))[1])
        assert middleware(request).content.decode() == f"{replica} True True"
        posted = RequestFactory().post("/admin/auth/group/")
        posted.resolver_match = resolve(posted.path)
        assert middleware(posted).content.decode().startswith("default False ")
    finally:
        Group.objects.using(primary).filter(name=name).delete()
