"""Starting background jobs and reporting their progress.

A job function is a django-tasks task taking `job_id` as its first argument:

    @task()
    def payroll_generate_task(job_id: int, payroll_id: int) -> None:
        with job_running(job_id) as progress:
            ...
            progress(done=n, total=total, message="Computing amounts")

Progress is written on its own database connection (the "progress" alias on
PostgreSQL), so a page polling the job sees it move even while the job's own
work sits inside one long transaction.

While it runs, the job holds a lease (`jobs.leases`): a heartbeat thread and every
progress update renew it, so a sweep (`jobs.recovery`) can tell a dead job from a slow one.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from jobs.leases import Heartbeat, JobLock, db_session_current, lease_until, worker_identity
from jobs.models import Job, JobState

logger = logging.getLogger(__name__)

ProgressFn = Callable[..., None]


def _progress_alias() -> str:
    return "progress" if "progress" in settings.DATABASES else "default"


def job_start(
    *,
    task: Any,
    label: str,
    user: AbstractBaseUser | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
) -> Job:
    """Create the Job row and queue the task once the surrounding transaction commits."""
    job = Job.objects.create(
        kind=f"{task.func.__module__}.{task.func.__name__}",
        label=label,
        created_by=user if user is not None and user.is_authenticated else None,
        task_args=json.loads(json.dumps({"args": list(args), "kwargs": kwargs or {}}, cls=DjangoJSONEncoder)),
    )

    def enqueue() -> None:
        result = task.enqueue(job.pk, *args, **(kwargs or {}))
        Job.objects.filter(pk=job.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return job


class JobLeaseLost(RuntimeError):
    """The job is no longer this worker's to run: a sweep found it dead, or it was cancelled."""


def job_progress(job_id: int, *, done: int, total: int | None = None, message: str | None = None) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"done": done, "heartbeat_at": now, "lease_expires_at": lease_until(now)}
    if total is not None:
        fields["total"] = total
    if message is not None:
        fields["message"] = message[:500]
    Job.objects.using(_progress_alias()).filter(pk=job_id).update(**fields)


def _connection_lost(exc: BaseException) -> bool:
    """Did the job fail because the database went away (restart, network), not because of its data?"""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if connections["default"].vendor != "postgresql":
        return False  # SQLite's errors ("database is locked") are the job's own
    if isinstance(exc, InterfaceError):
        return True
    # No SQLSTATE: the client saw the connection drop; 08: connection exception; 57P: the server
    # ended the session (shutdown, restart, pg_terminate_backend). Not 57014, a statement timeout.
    code = getattr(exc.__cause__, "pgcode", None)
    return code is None or code.startswith(("08", "57P"))


def _connections_reset(alias: str) -> None:
    for name in {"default", alias}:
        if not connections[name].in_atomic_block:
            connections[name].close()


@contextmanager
def job_running(job_id: int) -> Iterator[ProgressFn]:
    """Mark the job running under this worker's lease, hand out a progress callback, record the outcome.

    A job that fails because the database connection was lost is failed again once it answers, with
    its kind's clean-up (its own error handlers could not write); if it does not answer, the lease
    expires and a sweep does it.
    """
    alias = _progress_alias()
    worker = worker_identity()
    lock = JobLock(job_id).acquire()
    now = timezone.now()
    Job.objects.using(alias).filter(pk=job_id).update(
        state=JobState.RUNNING,
        started_at=now,
        worker=worker,
        heartbeat_at=now,
        lease_expires_at=lease_until(now),
        db_session=db_session_current(),
    )
    heartbeat = Heartbeat(job_id=job_id, worker=worker, alias=alias)
    heartbeat.start()

    def progress(*, done: int, total: int | None = None, message: str | None = None) -> None:
        if heartbeat.lost:
            raise JobLeaseLost(
                f"Job #{job_id} is no longer running on this worker: it was failed or cancelled."
            )
        job_progress(job_id, done=done, total=total, message=message)

    mine = Job.objects.using(alias).filter(pk=job_id, state=JobState.RUNNING, worker=worker)
    try:
        yield progress
    except Exception as exc:
        heartbeat.stop()
        if _connection_lost(exc):
            _connections_reset(alias)
            _job_lost_connection(job_id, worker=worker, error=exc)
        else:
            mine.update(
                state=JobState.FAILED,
                error=f"{exc}\n\n{traceback.format_exc()}"[:20000],
                message=str(exc)[:500],
                finished_at=timezone.now(),
            )
        raise
    except (KeyboardInterrupt, SystemExit):
        # The worker was told to stop (a second Ctrl-C or SIGTERM): fail and clean the job now.
        heartbeat.stop()
        _job_stopped(job_id, worker=worker)
        raise
    else:
        heartbeat.stop()
        if not mine.update(state=JobState.SUCCEEDED, finished_at=timezone.now()):
            logger.warning("Job #%s finished after it was failed or cancelled; its state stays", job_id)
    finally:
        heartbeat.stop()
        lock.release()


def _job_stopped(job_id: int, *, worker: str) -> None:
    from jobs.recovery import job_abandon, stopped_reason

    try:
        job_abandon(job_id=job_id, reason=stopped_reason, worker=worker, task_result=False)
    except DatabaseError:
        logger.warning("Job #%s was stopped and the database is away: a sweep will fail it", job_id)


def _job_lost_connection(job_id: int, *, worker: str, error: BaseException) -> None:
    from jobs.recovery import connection_lost_reason, job_abandon

    try:
        job_abandon(
            job_id=job_id,
            reason=lambda job: connection_lost_reason(job, error),
            worker=worker,
            task_result=False,  # django-tasks records its own result next
        )
    except DatabaseError:
        logger.warning("Job #%s lost the database, which is still away: a sweep will fail it", job_id)


def job_set_result(job_id: int, *, result: dict[str, Any]) -> None:
    Job.objects.using(_progress_alias()).filter(pk=job_id).update(result=result)
