"""Background execution of approved tasks whose action is heavy (uploads, payrolls)."""

from __future__ import annotations

import logging

from django_tasks import task

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
