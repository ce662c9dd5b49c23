"""Background execution of approved tasks whose action is heavy (uploads, payrolls); and when it dies."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext as _
from django_tasks import task

from jobs.kinds import job_kind_register
from jobs.models import Job
from jobs.services import job_running

logger = logging.getLogger(__name__)


@task()
def task_execute_job(job_id: int, task_id: int) -> None:
    from approvals.services import error_text, task_execute_in_job, task_fail_after_job

    try:
        with job_running(job_id) as progress:
            task_execute_in_job(task_id=task_id, progress=progress)
    except Exception as exc:
        # The executor's work was rolled back with its transaction; record why on the task.
        logger.exception("Background execution of task #%s failed", task_id)
        task_fail_after_job(task_id=task_id, error=error_text(exc))


def _task_of(job: Job) -> Any:
    from approvals.models import Task

    task_id = (job.task_args.get("args") or [None])[0] if isinstance(job.task_args, dict) else None
    found = Task.objects.filter(pk=task_id).first() if task_id else None
    return found or Task.objects.filter(job=job).first()


def task_execution_abandon(*, job: Job, reason: str) -> None:
    """The executing worker died. Its work was one transaction, which the database rolled back (a
    half-enrolment, a half-committed upload leave nothing): the task is failed with the reason, and an
    approver may retry it or its maker cancel it."""
    from approvals.services import task_fail_after_job

    found = _task_of(job)
    if found is not None:
        task_fail_after_job(task_id=found.pk, error=reason)


def task_execution_retry_refusal(*, job: Job, user: Any) -> str | None:
    from approvals.selectors import task_retry_refusal

    found = _task_of(job)
    return task_retry_refusal(task=found, user=user) if found else _("The task of this job was deleted.")


def task_execution_retry(*, job: Job, user: Any) -> Job:
    from approvals.services import task_retry

    retried = task_retry(
        task=_task_of(job), user=user, comment=_("Retried after job #%(job)s failed.") % {"job": job.pk}
    )
    return retried.job


def task_execution_cancel_refusal(*, job: Job, user: Any) -> str | None:
    from approvals.selectors import task_cancel_refusal

    found = _task_of(job)
    return task_cancel_refusal(task=found, user=user) if found else _("The task of this job was deleted.")


def task_execution_cancel(*, job: Job, user: Any) -> None:
    from approvals.services import task_cancel

    task_cancel(
        task=_task_of(job), user=user, comment=_("Cancelled after job #%(job)s failed.") % {"job": job.pk}
    )


job_kind_register(
    task_execute_job,
    cleanup=task_execution_abandon,
    retry=task_execution_retry,
    retry_refusal=task_execution_retry_refusal,
    cancel=task_execution_cancel,
    cancel_refusal=task_execution_cancel_refusal,
)
