"""Background jobs of the portal: rebuilding the dashboard's summary tables."""

from __future__ import annotations

from django_tasks import task

from jobs.services import job_running, job_set_result


@task()
def summaries_refresh_task(job_id: int) -> None:
    from portal.summaries import summaries_refresh

    with job_running(job_id) as progress:
        progress(done=0, total=1, message="Counting the registry and the plans")
        refresh = summaries_refresh()
        progress(done=1, total=1, message="Summary tables rebuilt")
        job_set_result(
            job_id, result={"refreshed_at": refresh.refreshed_at.isoformat(), "seconds": refresh.seconds}
        )
