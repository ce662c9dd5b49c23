"""Background jobs of payments: generating a payroll's lines."""

from __future__ import annotations

from django_tasks import task

from jobs.services import job_running, job_set_result


@task()
def payroll_generate_job(job_id: int, payroll_id: int) -> None:
    from payments.models import Payroll
    from payments.services import payroll_generate

    with job_running(job_id) as progress:
        result = payroll_generate(payroll=Payroll.objects.get(pk=payroll_id), progress=progress)
        job_set_result(job_id, result=result)
