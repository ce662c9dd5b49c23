"""Jobs survive crashes: a real worker process is killed (`kill -9`) in the middle of a job, or loses its
database connection; the job is found dead after its lease, failed with the reason, its partial work
cleaned, and a retry runs it to the end. Runs on SQLite (a file copy of the test database) and PostgreSQL.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import Job, JobState
from jobs.recovery import WORKER_LOST, job_retry, jobs_sweep
from payments.models import Benefit, Payroll, PayrollStatus
from payments.services import payroll_create
from tests.jobs.workers import WorkerSite
from tests.payments.conftest import make_payment_plan, world_build
from tests.uploads.conftest import csv_bytes, household_rows, plan_make
from uploads.models import BatchState, ImportBatch, StagedError, StagedRow
from uploads.services import batch_create, batch_validation_start

pytestmark = pytest.mark.django_db(transaction=True)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _sweep_at_lease_end(job: Job) -> list[Job]:
    """Sweep just before the dead worker's lease ends (nothing), then just after it (the job)."""
    job.refresh_from_db()
    assert job.lease_expires_at is not None
    assert jobs_sweep(now=job.lease_expires_at - timedelta(milliseconds=10)) == []
    return jobs_sweep(now=job.lease_expires_at + timedelta(milliseconds=10))


def _assert_failed_as_dead(job: Job, *, pid: int, doing: str) -> None:
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.finished_at
    assert job.error.startswith("The worker stopped while")
    assert doing in job.error and f"{socket.gethostname()[:60]}:{pid}" in job.error
    assert "no heartbeat from" in job.error and "retry or cancel" in job.error
    result = DBTaskResult.objects.get(pk=job.task_id)
    assert result.status == TaskResultStatus.FAILED and result.exception_class_path == WORKER_LOST


def test_killed_upload_validation_is_failed_cleaned_and_retried(worker_site: WorkerSite, tree, maker):
    from guardian.shortcuts import assign_perm

    plan = plan_make("CASH", "household")
    assign_perm("programs.manage_beneficiaries", maker, plan)
    assign_perm("programs.view_benefitplan", maker, plan)
    content = csv_bytes(household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6")))
    batch = batch_create(
        user=maker, plan=plan, file=SimpleUploadedFile("people.csv", content), background=False
    )
    job = batch_validation_start(batch=batch, user=maker).validation_job

    worker = worker_site.start(JOBS_TEST_PAUSE_AT="Checking locations")
    assert worker_site.wait_paused(worker) == job.pk
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and job.worker.endswith(f":{worker.pid}")
    assert StagedRow.objects.filter(batch_id=batch.pk).count() == 6  # the partial work, committed
    assert jobs_sweep(now=job.lease_expires_at + timedelta(seconds=60)) == []  # alive: its lock is held

    worker_site.kill(worker)
    assert [dead.pk for dead in _sweep_at_lease_end(job)] == [job.pk]
    _assert_failed_as_dead(job, pid=worker.pid, doing="Checking locations")
    batch.refresh_from_db()
    assert batch.state == BatchState.FAILED and batch.error == job.error
    assert not StagedRow.objects.filter(batch_id=batch.pk).exists()
    assert not StagedError.objects.filter(batch_id=batch.pk).exists()
    assert jobs_sweep() == []  # once

    retry = job_retry(job=job, user=maker)
    job.refresh_from_db()
    assert job.retried_as == retry and retry.state == JobState.QUEUED
    worker_site.run_batch()
    retry.refresh_from_db()
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert retry.state == JobState.SUCCEEDED, retry.error
    assert batch.state == BatchState.VALIDATED and batch.validation_job_id == retry.pk
    assert (batch.new_rows, batch.new_households) == (6, 2)


def test_killed_payroll_generation_leaves_no_line_and_is_regenerated(worker_site: WorkerSite, tree):
    world = world_build(tree)
    payroll = payroll_create(
        user=world.officer,
        payment_plan=make_payment_plan(world),
        cycle=world.cycle,
        payment_point=world.point,
    )
    job = payroll.job

    worker = worker_site.start(JOBS_TEST_PAUSE_AT="lines written", JOBS_TEST_PAYROLL_CHUNK="1")
    assert worker_site.wait_paused(worker) == job.pk
    assert Payroll.objects.get(pk=payroll.pk).status == PayrollStatus.GENERATING
    worker_site.kill(worker)  # between two chunks: lines written, the payroll half made

    assert [dead.pk for dead in _sweep_at_lease_end(job)] == [job.pk]
    # SQLite: the job's transaction held the only write lock, so its progress never landed.
    _assert_failed_as_dead(job, pid=worker.pid, doing="lines written" if _postgres() else "starting")
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.FAILED and payroll.error == job.error
    assert not Benefit.objects.filter(payroll=payroll).exists()

    retry = job_retry(job=job, user=world.officer)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.GENERATING and payroll.job == retry and payroll.error == ""
    worker_site.run_batch()
    retry.refresh_from_db()
    payroll.refresh_from_db()
    assert retry.state == JobState.SUCCEEDED, retry.error
    assert payroll.status == PayrollStatus.DRAFT
    assert Benefit.objects.filter(payroll=payroll).count() == len(world.beneficiaries)


def _terminate_worker_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'jobs-test-worker' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_worker_goes_on_after_its_database_connections_are_terminated(worker_site: WorkerSite, tree):
    if not _postgres():
        pytest.skip("needs PostgreSQL: pg_terminate_backend ends the worker's sessions")
    from portal.summaries import summaries_refresh_start

    first = summaries_refresh_start(user=None)
    worker = worker_site.start(JOBS_TEST_PAUSE_AT="Counting people")
    assert worker_site.wait_paused(worker) == first.pk
    assert _terminate_worker_sessions() >= 1  # mid-job: its transaction is gone
    worker_site.release()

    def finished(job: Job) -> bool:
        job.refresh_from_db()
        return job.state in (JobState.SUCCEEDED, JobState.FAILED)

    worker_site.wait_for(lambda: finished(first), worker, "the interrupted job to be failed")
    assert first.state == JobState.FAILED
    assert first.error.startswith("The worker lost its database connection while “Counting people")
    worker_site.wait_for(
        lambda: DBTaskResult.objects.get(pk=first.task_id).status == TaskResultStatus.FAILED,
        worker,
        "the interrupted task's result",
    )

    second = summaries_refresh_start(user=None)
    worker_site.wait_for(lambda: finished(second), worker, "a job after the lost connection")
    assert second.state == JobState.SUCCEEDED, second.error

    assert _terminate_worker_sessions() >= 1  # while idle
    third = summaries_refresh_start(user=None)
    worker_site.wait_for(lambda: finished(third), worker, "a job after the idle connection was ended")
    assert third.state == JobState.SUCCEEDED, third.error
    assert worker.poll() is None  # the worker never exited


def test_worker_sweeps_dead_jobs_when_it_starts(worker_site: WorkerSite, maker):
    dead = Job.objects.create(kind="tests.other", label="Left by a worker killed earlier", created_by=maker)
    Job.objects.filter(pk=dead.pk).update(
        state=JobState.RUNNING,
        worker="gone-host:1",
        started_at=timezone.now() - timedelta(minutes=5),
        heartbeat_at=timezone.now() - timedelta(minutes=4),
        lease_expires_at=timezone.now() - timedelta(minutes=4),
    )
    worker = worker_site.start()

    def failed() -> bool:
        dead.refresh_from_db()
        return dead.state == JobState.FAILED

    worker_site.wait_for(failed, worker, "the worker's start-up sweep")
    assert dead.error.startswith("The worker stopped while starting: no heartbeat from gone-host:1")


def test_killed_upload_commit_stores_nothing_and_an_approver_retries_it(
    worker_site: WorkerSite, tree, maker, checker
):
    from guardian.shortcuts import assign_perm

    from approvals.models import Task, TaskState
    from approvals.services import task_approve
    from registry.models import Individual
    from uploads.services import batch_commit_request, batch_validate

    plan = plan_make("CASH", "household")
    for user, permission in (
        (maker, "manage_beneficiaries"),
        (maker, "view_benefitplan"),
        (checker, "view_benefitplan"),
    ):
        assign_perm(f"programs.{permission}", user, plan)
    content = csv_bytes(household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6")))
    batch = batch_create(
        user=maker, plan=plan, file=SimpleUploadedFile("people.csv", content), background=False
    )
    batch = batch_validate(batch=batch)
    task = task_approve(task=batch_commit_request(batch=batch, user=maker), user=checker)
    assert task.state == TaskState.EXECUTING
    job = task.job

    worker = worker_site.start(JOBS_TEST_PAUSE_AT="Creating individuals")
    assert worker_site.wait_paused(worker) == job.pk
    worker_site.kill(worker)  # households written, people half-way: one transaction, rolled back

    assert [dead.pk for dead in _sweep_at_lease_end(job)] == [job.pk]
    _assert_failed_as_dead(job, pid=worker.pid, doing="Creating individuals" if _postgres() else "starting")
    task = Task.objects.get(pk=task.pk)
    assert task.state == TaskState.FAILED and task.error == job.error
    assert not Individual.objects.exists()
    assert ImportBatch.objects.get(pk=batch.pk).state == BatchState.AWAITING_APPROVAL

    retry = job_retry(job=job, user=checker)
    worker_site.run_batch()
    retry.refresh_from_db()
    assert retry.state == JobState.SUCCEEDED, retry.error
    assert Task.objects.get(pk=task.pk).state == TaskState.EXECUTED
    assert ImportBatch.objects.get(pk=batch.pk).state == BatchState.COMMITTED
    assert Individual.objects.count() == 6
