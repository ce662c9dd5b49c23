"""Background jobs of the portal: rebuilding the dashboard's summary tables; retrying a dead refresh."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django_tasks import task

from access.roles import user_in_roles
from jobs.kinds import job_kind_register
from jobs.models import Job
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


@task()
def summaries_refresh_incremental_task(job_id: int) -> None:
    """Recount the summaries of what changed since the last refresh; queue the day's full rebuild if due."""
    from portal.summaries import summaries_full_due, summaries_refresh_incremental, summaries_refresh_start

    with job_running(job_id) as progress:
        progress(done=0, total=1, message="Recounting what changed")
        refresh = summaries_refresh_incremental()
        progress(done=1, total=1, message="Summaries up to date")
        job_set_result(
            job_id,
            result={
                "refreshed_at": refresh.refreshed_at.isoformat() if refresh else None,
                "seconds": refresh.seconds if refresh else 0,
            },
        )
    if summaries_full_due():  # age bands shift with the date: one full rebuild a day, from the first write
        summaries_refresh_start(user=None, after_write=True)


def summaries_refresh_retry_refusal(*, job: Job, user: Any) -> str | None:
    from portal.roles import ADMINISTRATOR

    if job.created_by_id != user.pk and not user_in_roles(user, (ADMINISTRATOR,)):
        return _("Only whoever started this refresh or an administrator may retry it.")
    return None


def summaries_refresh_retry(*, job: Job, user: Any) -> Job:
    from portal.summaries import summaries_refresh_start

    return summaries_refresh_start(user=user, incremental=job.kind.endswith("incremental_task"))


# No clean-up hook: a refresh rebuilds the tables in one transaction, which the database rolls back
# when its worker dies (the sweep first ends a dead worker's PostgreSQL session, so its locks go too);
# the previous figures stay on the dashboard until the retry.
job_kind_register(
    summaries_refresh_task, retry=summaries_refresh_retry, retry_refusal=summaries_refresh_retry_refusal
)
# Same for an incremental refresh: its change rows are deleted in its transaction, so a dead one leaves them.
job_kind_register(
    summaries_refresh_incremental_task,
    retry=summaries_refresh_retry,
    retry_refusal=summaries_refresh_retry_refusal,
)
