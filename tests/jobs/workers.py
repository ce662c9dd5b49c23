"""Real worker processes against the test database, for the crash tests.

On PostgreSQL the worker uses the test database itself; on SQLite, whose test database lives in this
process's memory, the test runs on a file copy of it, which the worker opens too.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connections

SCRIPT = Path(__file__).with_name("pausing_worker.py")
LEASE_SECONDS = 2
WAIT_SECONDS = 90  # a failure guard on a loaded machine, never a measure


@dataclass
class WorkerSite:
    """Where a worker process and the test meet: database URL, runtime and media directories."""

    database_url: str
    tmp: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            # A worker as deployed (on PostgreSQL with its "progress" connection), not the test settings.
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_ENV": "development",
            "DATABASE_URL": self.database_url,
            "JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
            "JOBS_SWEEP_SECONDS": "3600",  # the test sweeps when it decides to
            "JOBS_RUNTIME_DIR": str(self.tmp / "run"),
            "MEDIA_ROOT": str(self.tmp / "media"),
            "UPLOADS_PARSE_WORKERS": "0",
            "PGAPPNAME": "jobs-test-worker",
            "JOBS_TEST_PAUSED": str(self.tmp / "paused"),
            "JOBS_TEST_RELEASE": str(self.tmp / "release"),
        }
        env.update(extra)
        return env

    def start(self, *args: str, **extra: str) -> subprocess.Popen:
        (self.tmp / "paused").unlink(missing_ok=True)
        log = open(self.tmp / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args], env=self.env(**extra), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:] for path in sorted(self.tmp.glob("worker-*.log"))
        )

    def wait_paused(self, process: subprocess.Popen) -> int:
        """The id of the job the worker stopped in."""
        self.wait_for(lambda: (self.tmp / "paused").exists(), process, "the worker to reach the pause")
        return int((self.tmp / "paused").read_text())

    def wait_for(self, condition: Callable[[], bool], process: subprocess.Popen | None, what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if process is not None and process.poll() is not None:
                pytest.fail(f"The worker exited ({process.returncode}) before {what}:\n{self.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Gave up waiting for {what}:\n{self.log()}")
            time.sleep(0.05)

    def release(self) -> None:
        (self.tmp / "release").write_text("go")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT_SECONDS)

    def run_batch(self) -> None:
        """A worker that runs every queued job, then exits."""
        process = self.start("--batch")
        try:
            process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"The batch worker did not finish:\n{self.log()}")
        assert process.returncode == 0, self.log()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_SECONDS)


def _postgres_url(database: dict) -> str:
    user = quote(database.get("USER") or "")
    password = f":{quote(database['PASSWORD'])}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{database['NAME']}"


@pytest.fixture
def worker_site(transactional_db, settings, tmp_path) -> Iterator[WorkerSite]:
    settings.JOBS_LEASE_SECONDS = LEASE_SECONDS
    settings.JOBS_RUNTIME_DIR = tmp_path / "run"
    settings.MEDIA_ROOT = tmp_path / "media"
    connection = connections["default"]
    if connection.vendor == "postgresql":
        site = WorkerSite(_postgres_url(connection.settings_dict), tmp_path)
        try:
            yield site
        finally:
            site.stop_all()
        return
    # SQLite: copy the in-memory test database to a file, and point this process at the file too.
    connection.ensure_connection()
    memory, name = connection.connection, connection.settings_dict["NAME"]
    path = tmp_path / "db.sqlite3"
    copy = sqlite3.connect(path)
    memory.backup(copy)
    copy.close()
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    site = WorkerSite(f"sqlite:///{path}", tmp_path)
    try:
        yield site
    finally:
        site.stop_all()
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = memory
