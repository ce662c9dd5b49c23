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
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from jobs.models import Job, JobState

ProgressFn = Callable[..., None]


def _progress_alias() -> str:
    return "progress" if "progress" in settings.DATABASES else "default"


def job_start(
    *, task: Any, label: str, user: AbstractBaseUser | None = None, args: tuple = (), kwargs: dict | None = None
) -> Job:
    """Create the Job row and queue the task once the surrounding transaction commits."""
    job = Job.objects.create(
        kind=f"{task.func.__module__}.{task.func.__name__}",
        label=label,
        created_by=user if user is not None and user.is_authenticated else None,
    )

    def enqueue() -> None:
        result = task.enqueue(job.pk, *args, **(kwargs or {}))
        Job.objects.filter(pk=job.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return job


def job_progress(job_id: int, *, done: int, total: int | None = None, message: str | None = None) -> None:
    fields: dict[str, Any] = {"done": done}
    if total is not None:
        fields["total"] = total
    if message is not None:
        fields["message"] = message[:500]
    Job.objects.using(_progress_alias()).filter(pk=job_id).update(**fields)


@contextmanager
def job_running(job_id: int) -> Iterator[ProgressFn]:
    """Mark the job running, hand out a progress callback, record success or failure."""
    alias = _progress_alias()
    Job.objects.using(alias).filter(pk=job_id).update(state=JobState.RUNNING, started_at=timezone.now())

    def progress(*, done: int, total: int | None = None, message: str | None = None) -> None:
        job_progress(job_id, done=done, total=total, message=message)

    try:
        yield progress
    except Exception as exc:
        Job.objects.using(alias).filter(pk=job_id).update(
            state=JobState.FAILED,
            error=f"{exc}\n\n{traceback.format_exc()}"[:20000],
            message=str(exc)[:500],
            finished_at=timezone.now(),
        )
        raise
    else:
        Job.objects.using(alias).filter(pk=job_id).update(state=JobState.SUCCEEDED, finished_at=timezone.now())


def job_set_result(job_id: int, *, result: dict[str, Any]) -> None:
    Job.objects.using(_progress_alias()).filter(pk=job_id).update(result=result)
