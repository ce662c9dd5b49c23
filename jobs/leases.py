"""A running job's lease: renewed by its worker, it tells a dead job from a slow one.

Three signals, from the strongest:
- a lock file held (flock) by the process running the job, in JOBS_RUNTIME_DIR: the operating system
  drops it the moment that process dies (kill -9, crash, reboot), and a sweep on the same machine
  reads it. It keeps a live job alive on SQLite, where a job's long write transaction holds the
  database's only write lock and the heartbeat cannot land until it commits;
- the lease (`Job.lease_expires_at`), pushed forward by a heartbeat thread on its own database
  connection and by every progress update: a job on another machine is dead when it expires;
- on PostgreSQL the job's database session (pid and start), ended when the job is found dead so
  the locks a still-running statement of the dead worker holds do not block the clean-up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

try:
    import fcntl
except ImportError:  # not on Windows: the lease alone decides there
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


def lease_seconds() -> int:
    return int(getattr(settings, "JOBS_LEASE_SECONDS", 60))


def lease_until(now: object | None = None) -> object:
    return (now or timezone.now()) + timedelta(seconds=lease_seconds())  # type: ignore[operator]


def worker_identity() -> str:
    """host:pid of this process, as shown on the job and in the reason it died."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _lock_path(job_id: int) -> Path:
    # One directory may serve several databases (tests, a second portal): the name says which one.
    database = connections["default"].settings_dict
    key = f"{database.get('HOST') or ''}:{database.get('PORT') or ''}/{database.get('NAME')}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    runtime = Path(getattr(settings, "JOBS_RUNTIME_DIR", Path(settings.BASE_DIR) / "var" / "run"))
    return runtime / f"job-{digest}-{job_id}.lock"


class JobLock:
    """The lock file a running job holds; released when the job ends or its process dies."""

    def __init__(self, job_id: int) -> None:
        self.path = _lock_path(job_id)
        self._file: IO[bytes] | None = None

    def acquire(self) -> JobLock:
        if fcntl is None:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "ab")  # noqa: SIM115 - held for the job's lifetime
        except OSError as exc:
            logger.warning(
                "Cannot create the job lock file %s: %s (the lease alone will decide)", self.path, exc
            )
            return self
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            logger.warning("Job lock %s is held by another process", self.path)
            return self
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            self._file.close()  # closing drops the lock
            self._file = None


def job_lock_held(job_id: int) -> bool:
    """Is a live process on this machine running the job (holding its lock file)?"""
    if fcntl is None:
        return False
    try:
        handle = open(_lock_path(job_id), "rb")  # noqa: SIM115
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def db_session_current(alias: str = "default") -> str:
    """The PostgreSQL session of this thread's connection as `pid@backend_start`; '' elsewhere."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return ""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            )
            row = cursor.fetchone()
    except DatabaseError:
        return ""
    return f"{row[0]}@{row[1]}" if row else ""


def db_session_end(session: str) -> bool:
    """End a dead worker's PostgreSQL session, if it still runs (its statement may hold locks)."""
    connection = connections["default"]
    if connection.vendor != "postgresql" or "@" not in session:
        return False
    pid, started = session.split("@", 1)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid = %s AND backend_start::text = %s",
                [int(pid), started],
            )
            row = cursor.fetchone()
    except (DatabaseError, ValueError) as exc:
        logger.warning("Could not end the database session %s of a dead job: %s", session, exc)
        return False
    return bool(row and row[0])


class Heartbeat(threading.Thread):
    """Renews a running job's lease every third of the lease, on this thread's own database connection.

    It stops when told to, and marks the lease `lost` when the job is no longer this worker's to run
    (a sweep failed it, someone cancelled it): the job's next progress update then stops the job.
    """

    def __init__(self, *, job_id: int, worker: str, alias: str) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.worker, self.alias = job_id, worker, alias
        self.interval = max(lease_seconds() / 3, 0.2)
        self.lost = False
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.interval):
                self.beat()
        finally:
            connections[self.alias].close()

    def beat(self) -> None:
        from jobs.models import Job, JobState

        try:
            now = timezone.now()
            mine = Job.objects.using(self.alias).filter(
                pk=self.job_id, state=JobState.RUNNING, worker=self.worker
            )
            if mine.update(heartbeat_at=now, lease_expires_at=lease_until(now)):
                return
            # Not renewed: the job is someone else's now, or its row is not visible here (a test)
            taken = (
                Job.objects.using(self.alias)
                .filter(pk=self.job_id)
                .exclude(state=JobState.RUNNING, worker=self.worker)
                .exists()
            )
            if taken:
                self.lost = True
                self._stop_event.set()
        except DatabaseError as exc:
            # The database is busy (SQLite's write lock) or away: try again at the next beat.
            logger.debug("Heartbeat of job #%s not written: %s", self.job_id, exc)
            connections[self.alias].close_if_unusable_or_obsolete()

    def stop(self) -> None:
        self._stop_event.set()
        # A beat waiting for SQLite's lock finishes on its own (the thread is a daemon).
        self.join(timeout=1)
