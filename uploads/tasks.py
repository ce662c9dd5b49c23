"""Background jobs of uploads: the validation of a batch, with its progress; what to do when it dies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_tasks import task

from jobs.kinds import job_kind_register
from jobs.models import Job
from jobs.services import job_running


@task()
def batch_validate_task(job_id: int, batch_id: int) -> None:
    from uploads.models import ImportBatch
    from uploads.services import batch_validate

    with job_running(job_id) as progress:
        batch = batch_validate(batch=ImportBatch.objects.get(pk=batch_id), progress=progress)
        if batch.state == "failed":
            progress(done=0, message=batch.error[:500])


def _batch_of(job: Job) -> Any:
    from uploads.models import ImportBatch

    batch_id = (job.task_args.get("args") or [None])[0] if isinstance(job.task_args, dict) else None
    batch = ImportBatch.objects.filter(pk=batch_id).first() if batch_id else None
    return batch or ImportBatch.objects.filter(validation_job=job).first()


def batch_validation_abandon(*, job: Job, reason: str) -> None:
    """The validation's worker died: its staged rows and errors go, the batch is failed with the reason."""
    from uploads.models import BatchState, ImportBatch
    from uploads.services import staging_clear

    batch = _batch_of(job)
    if batch is None:
        return
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        staging_clear(batch_id=batch.pk)
        if batch.state == BatchState.VALIDATING:
            batch.fail(error=reason)
            batch.save()


def batch_validation_retry_refusal(*, job: Job, user: Any) -> str | None:
    from uploads.models import BatchState
    from uploads.services import _require_manager

    batch = _batch_of(job)
    if batch is None:
        return _("The upload this job validated was deleted.")
    try:
        _require_manager(user, batch.benefit_plan)
    except ValidationError as exc:
        return " ".join(exc.messages)
    if batch.state not in (BatchState.UPLOADED, BatchState.VALIDATED, BatchState.FAILED):
        return _("%(batch)s is %(state)s: it cannot be validated again now.") % {
            "batch": batch,
            "state": batch.get_state_display().lower(),
        }
    return None


def batch_validation_retry(*, job: Job, user: Any) -> Job:
    """Validate the batch again (its staging is rebuilt from the file); the service checks the user."""
    from uploads.services import batch_validation_start

    return batch_validation_start(batch=_batch_of(job), user=user).validation_job


job_kind_register(
    batch_validate_task,
    cleanup=batch_validation_abandon,
    retry=batch_validation_retry,
    retry_refusal=batch_validation_retry_refusal,
)
