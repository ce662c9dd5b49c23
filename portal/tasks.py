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


def summaries_refresh_retry_refusal(*, job: Job, user: Any) -> str | None:
    from portal.roles import ADMINISTRATOR

    if job.created_by_id != user.pk and not user_in_roles(user, (ADMINISTRATOR,)):
        return _("Only whoever started this refresh or an administrator may retry it.")
    return None


def summaries_refresh_retry(*, job: Job, user: Any) -> Job:
    from portal.summaries import summaries_refresh_start

    return summaries_refresh_start(user=user)


# No clean-up hook: a refresh rebuilds the tables in one transaction, which the database rolls back
# when its worker dies (the sweep first ends a dead worker's PostgreSQL session, so its locks go too);
# the previous figures stay on the dashboard until the retry.
job_kind_register(
    summaries_refresh_task, retry=summaries_refresh_retry, retry_refusal=summaries_refresh_retry_refusal
)
