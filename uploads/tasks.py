"""Background jobs of uploads: the validation of a batch, with its progress."""

from __future__ import annotations

from django_tasks import task

from jobs.services import job_running


@task()
def batch_validate_task(job_id: int, batch_id: int) -> None:
    from uploads.models import ImportBatch
    from uploads.services import batch_validate

    with job_running(job_id) as progress:
        batch = batch_validate(batch=ImportBatch.objects.get(pk=batch_id), progress=progress)
        if batch.state == "failed":
            progress(done=0, message=batch.error[:500])
