"""Background jobs of the portal: rebuilding the dashboard's summary tables."""

from __future__ import annotations

from django_tasks import task

from jobs.services import job_running, job_set_result


@task()
def summaries_refresh_task(job_id: int) -> None:
    from portal.summaries import REFRESH_STEPS, summaries_refresh, summaries_vacuum

    with job_running(job_id) as progress:
        refresh = summaries_refresh(progress=progress)
        progress(done=REFRESH_STEPS - 1, total=REFRESH_STEPS, message="Tidying the summary tables")
        summaries_vacuum()
        progress(done=REFRESH_STEPS, total=REFRESH_STEPS, message="Summary tables rebuilt")
        job_set_result(
            job_id, result={"refreshed_at": refresh.refreshed_at.isoformat(), "seconds": refresh.seconds}
        )
