"""Jobs whose worker died: find them, fail them with the reason, clean their partial work; retry or cancel.

`jobs_sweep()` runs in every worker (at start-up and every JOBS_SWEEP_SECONDS) and as
`manage.py jobs_sweep`; never on a page view. A running job is dead when its lease expired and no
process on this machine holds its lock file (see `jobs.leases`). Each dead job is failed in one
transaction with its kind's clean-up hook (`jobs.kinds`), so its object (an upload, a payroll, an
approval task) is back in a state from which a permitted user retries or cancels it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from access.roles import ADMINISTRATOR, user_in_roles
from jobs.kinds import job_kind
from jobs.leases import db_session_end, job_lock_held, lease_seconds
from jobs.models import Job, JobState

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser
CANCEL_ANY_JOB_ROLES = (ADMINISTRATOR,)
WORKER_LOST = "jobs.recovery.WorkerLost"


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else _("its start")


def _doing(job: Job) -> str:
    doing = f"“{job.message}”" if job.message else _("starting")
    if job.total:
        return _("%(doing)s (%(done)s of %(total)s)") % {
            "doing": doing,
            "done": f"{job.done:,}",
            "total": f"{job.total:,}",
        }
    return doing


def dead_reason(job: Job) -> str:
    return _(
        "The worker stopped while %(doing)s: no heartbeat from %(worker)s since %(since)s "
        "(the lease is %(lease)s s). Its partial work was cleaned up: retry or cancel the job."
    ) % {
        "doing": _doing(job),
        "worker": job.worker or _("the worker"),
        "since": _when(job.heartbeat_at or job.started_at),
        "lease": lease_seconds(),
    }


def stopped_reason(job: Job) -> str:
    return _(
        "The worker was stopped while %(doing)s. Its partial work was cleaned up: retry or cancel the job."
    ) % {"doing": _doing(job)}


def connection_lost_reason(job: Job, error: BaseException) -> str:
    return _(
        "The worker lost its database connection while %(doing)s (%(error)s). Its partial work was "
        "cleaned up: retry or cancel the job."
    ) % {
        "doing": _doing(job),
        "error": str(error).strip().splitlines()[0][:200] if str(error).strip() else "",
    }


def _expired(now: datetime) -> Q:
    return Q(lease_expires_at__lt=now) | Q(
        lease_expires_at__isnull=True, started_at__lt=now - timedelta(seconds=lease_seconds())
    )


def _lock_timeout() -> None:
    # A dead worker's statement may still hold row locks: wait a while, not forever.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '10s'")


def _task_result_fail(task_id: str, reason: str, now: datetime) -> None:
    """The django-tasks result row of the job: failed too, never RUNNING forever."""
    if not task_id:
        return
    try:
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another tasks backend: nothing of ours to fix
        return
    DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=WORKER_LOST,
        traceback=reason,
        return_value=None,
    )


def job_abandon(
    *,
    job_id: int,
    reason: Callable[[Job], str] | str,
    now: datetime | None = None,
    expired_only: bool = False,
    worker: str | None = None,
    task_result: bool = True,
) -> Job | None:
    """Fail a running job that will not finish, in one transaction with its kind's clean-up.

    Returns the failed job, or None when it was not (or no longer) running as asked: another sweep
    got there first, it finished, or its lease was renewed meanwhile.
    """
    now = now or timezone.now()
    with transaction.atomic():
        running = Job.objects.select_for_update().filter(pk=job_id, state=JobState.RUNNING)
        if expired_only:
            running = running.filter(_expired(now))
        if worker is not None:
            running = running.filter(worker=worker)
        job = running.first()
        if job is None:
            return None
        _lock_timeout()
        text = reason(job) if callable(reason) else reason
        cleanup = job_kind(job.kind).cleanup
        if cleanup is not None:
            try:
                with transaction.atomic():
                    cleanup(job=job, reason=text)
            except Exception as exc:
                logger.exception("Cleaning up after job #%s (%s) failed", job.pk, job.kind)
                text += " " + _(
                    "Cleaning up its partial work failed too (%(error)s): ask an administrator."
                ) % {"error": f"{type(exc).__name__}: {exc}"[:300]}
        Job.objects.filter(pk=job.pk).update(
            state=JobState.FAILED, error=text, message=text[:500], finished_at=now
        )
        if task_result:
            _task_result_fail(job.task_id, text, now)
        job.refresh_from_db()
    logger.warning("Job #%s (%s) failed: %s", job.pk, job.kind, text)
    return job


def jobs_sweep(*, now: datetime | None = None) -> list[Job]:
    """Find running jobs whose worker died (lease expired, no live process holds them); fail, clean each."""
    now = now or timezone.now()
    # A plain read first: on SQLite a write transaction would queue behind a running job's.
    candidates = list(
        Job.objects.filter(state=JobState.RUNNING)
        .filter(_expired(now))
        .values_list("pk", "db_session")
        .order_by("pk")
    )
    failed = []
    for job_id, session in candidates:
        if job_lock_held(job_id):
            continue  # its process lives on this machine; the heartbeat waits for a lock (SQLite)
        if session:
            db_session_end(session)
        try:
            job = job_abandon(job_id=job_id, reason=dead_reason, now=now, expired_only=True)
        except Exception:
            logger.exception("Could not fail the dead job #%s; the next sweep tries again", job_id)
            continue
        if job is not None:
            failed.append(job)
    return failed


# --- retry and cancel ---------------------------------------------------------------------------


def _not_actionable(job: Job, user: User, doing: str) -> str | None:
    if not (user.is_authenticated and user.is_active):
        return _("Sign in to %(doing)s a job.") % {"doing": doing}
    if job.state != JobState.FAILED:
        return _("Job #%(id)s is %(state)s: only a failed job can be retried or cancelled.") % {
            "id": job.pk,
            "state": job.get_state_display().lower(),
        }
    if job.retried_as_id:
        return _("Job #%(id)s was retried already, as job #%(new)s.") % {
            "id": job.pk,
            "new": job.retried_as_id,
        }
    return None


def job_retry_refusal(*, job: Job, user: User) -> str | None:
    """Why `user` may not retry this failed job, or None when they may."""
    refusal = _not_actionable(job, user, _("retry"))
    if refusal:
        return refusal
    hooks = job_kind(job.kind)
    if hooks.retry is None:
        return _("This kind of job cannot be retried here: start it again from its own page.")
    return hooks.retry_refusal(job=job, user=user) if hooks.retry_refusal else None


def job_cancel_refusal(*, job: Job, user: User) -> str | None:
    """Why `user` may not cancel this failed job, or None when they may."""
    refusal = _not_actionable(job, user, _("cancel"))
    if refusal:
        return refusal
    hooks = job_kind(job.kind)
    if hooks.cancel_refusal is not None:
        return hooks.cancel_refusal(job=job, user=user)
    if (
        hooks.cancel is None
        and job.created_by_id != user.pk
        and not user_in_roles(user, CANCEL_ANY_JOB_ROLES)
    ):
        return _("Only whoever started job #%(id)s or an administrator may cancel it.") % {"id": job.pk}
    return None


def job_retry(*, job: Job, user: User) -> Job:
    """Run a failed job again through its kind's hook (which resets its object); returns the new job."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        refusal = job_retry_refusal(job=job, user=user)
        if refusal:
            raise ValidationError(refusal)
        retry = job_kind(job.kind).retry
        assert retry is not None  # checked by the refusal
        new = retry(job=job, user=user)
        Job.objects.filter(pk=job.pk).update(retried_as=new)
    return new


def job_cancel(*, job: Job, user: User) -> Job:
    """Give up a failed job: its kind's hook cancels its object; the job is marked cancelled."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        refusal = job_cancel_refusal(job=job, user=user)
        if refusal:
            raise ValidationError(refusal)
        cancel = job_kind(job.kind).cancel
        if cancel is not None:
            cancel(job=job, user=user)
        message = _("Cancelled by %(user)s after it failed.") % {"user": user.get_username()}
        Job.objects.filter(pk=job.pk).update(state=JobState.CANCELLED, message=message[:500])
        job.refresh_from_db()
    return job
