"""`manage.py jobs_worker`: django-tasks-db's `db_worker`, outliving a database restart, sweeping dead jobs.

`db_worker` exits on the first database error that is not a lock (a restarted PostgreSQL, a dropped
connection). This worker closes its connections, waits (1 s, doubling up to 30 s) and goes on. A thread
of its own sweeps dead jobs (`jobs.recovery.jobs_sweep`) at start-up and every JOBS_SWEEP_SECONDS,
even while the worker runs a long job. Same options as `db_worker`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from jobs.leases import worker_identity
from jobs.recovery import jobs_sweep

logger = logging.getLogger("jobs.worker")
RECONNECT_MAX_SECONDS = 30


def _connections_close() -> None:
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # a broken connection may fail to close: it is dropped anyway
            logger.debug("Closing %s failed", connection.alias, exc_info=True)


class Sweeper(threading.Thread):
    """Sweeps dead jobs now and every `interval` seconds, on this thread's own connection."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="jobs-sweeper", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            try:
                for job in jobs_sweep():
                    logger.warning("Dead job #%s failed: %s", job.pk, job.error)
            except Exception as exc:  # the database may be away: try again at the next round
                logger.warning("Sweeping dead jobs failed: %s", exc)
            finally:
                _connections_close()
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()


class ResilientWorker(Worker):
    """db_worker's loop, restarted after a lost database instead of exiting."""

    def run(self) -> None:
        sweeper = Sweeper(interval=getattr(settings, "JOBS_SWEEP_SECONDS", 60))
        sweeper.start()
        delay = 1.0
        try:
            while True:
                try:
                    super().run()
                    return
                except (OperationalError, InterfaceError) as exc:
                    if not self.running:
                        raise
                    logger.warning("Lost the database (%s); reconnecting in %.0f s", exc, delay)
                    _connections_close()
                    time.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                    self.startup_delay = False
                    if self._database_answers():
                        delay = 1.0
        finally:
            sweeper.stop()

    @staticmethod
    def _database_answers() -> bool:
        try:
            connections["default"].ensure_connection()
        except (OperationalError, InterfaceError):
            return False
        logger.info("The database answers again; the worker goes on")
        return True


class Command(DbWorkerCommand):
    help = (
        "Run the background worker (django-tasks-db's db_worker) that reconnects after a database restart "
        "and fails jobs whose worker died."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        # The default id names the machine and process, so a job's worker can be found (max 64 characters).
        parser.set_defaults(worker_id=worker_identity()[-64:])

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        if reload and batch:
            logger.warning("--reload and --batch cannot be specified together: autoreload is off.")
            reload = False
        if exclude_queues and "*" not in queue_name.split(","):
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
