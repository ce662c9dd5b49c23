"""Background jobs of the grievance module: the SLA check (overdue tickets, escalation)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from jobs.kinds import job_kind_register
from jobs.models import Job, JobState
from jobs.services import job_running, job_set_result

SLA_QUEUE_LOCK = 17_017  # advisory lock: one SLA job queued at a time


@task()
def sla_check_task(job_id: int) -> None:
    from grievances.sla import tickets_mark_overdue

    with job_running(job_id) as progress:
        result = tickets_mark_overdue(progress=progress)
        progress(done=result["overdue"], total=result["overdue"], message=_("SLA check done"))
        job_set_result(job_id, result=result)


def sla_check_start(*, user: Any = None) -> Job:
    """Queue the SLA check unless one is queued or running (cron calls `manage.py grievances_sla`)."""
    from jobs.services import job_start

    kind = f"{sla_check_task.func.__module__}.{sla_check_task.func.__name__}"
    recent = timezone.now() - timedelta(minutes=30)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SLA_QUEUE_LOCK])
        waiting = Job.objects.filter(
            kind=kind, state__in=(JobState.QUEUED, JobState.RUNNING), created_at__gte=recent
        ).first()
        if waiting is not None:
            return waiting
        return job_start(task=sla_check_task, label="Grievance SLA check", user=user)  # type: ignore[arg-type]


def sla_check_retry(*, job: Job, user: Any) -> Job:
    return sla_check_start(user=user)


# No clean-up hook: the check is one transaction, rolled back with a dead worker; the next run redoes it.
job_kind_register(sla_check_task, retry=sla_check_retry)
