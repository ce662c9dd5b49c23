"""Dead jobs in one process: which the sweep fails, what each kind's hook cleans, and the admin's Retry and
Cancel buttons (POST only, the services' permission checks on every request)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from access.roles import AUDITOR
from approvals.models import TaskState
from approvals.services import approval_request, task_approve
from jobs.kinds import job_kind_register, task_kind
from jobs.leases import JobLock
from jobs.models import Job, JobState
from jobs.recovery import WORKER_LOST, job_cancel, job_retry, jobs_sweep
from jobs.services import job_running
from payments.models import Benefit, Payroll, PayrollStatus
from payments.services import payroll_create, payroll_generate
from tests.approvals import actions
from tests.conftest import make_user
from tests.payments.conftest import World, make_payment_plan, world_build

pytestmark = pytest.mark.django_db


def _running(job: Job, *, expired: bool, message: str = "Writing lines") -> Job:
    """As a worker that died `expired` would have left it: running, its lease past or not."""
    now = timezone.now()
    lease = now - timedelta(seconds=5) if expired else now + timedelta(minutes=5)
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        started_at=now - timedelta(minutes=10),
        worker="gone-host:4242",
        heartbeat_at=lease - timedelta(seconds=60),
        lease_expires_at=lease,
        done=2,
        total=3,
        message=message,
    )
    job.refresh_from_db()
    return job


@pytest.fixture
def world(tree) -> World:
    return world_build(tree)


@pytest.fixture
def dead_payroll(world: World, django_capture_on_commit_callbacks) -> Payroll:
    """A payroll whose generation died half-way: some lines written, still 'generating', its job running."""
    with django_capture_on_commit_callbacks(execute=False):
        payroll = payroll_create(
            user=world.officer,
            payment_plan=make_payment_plan(world),
            cycle=world.cycle,
            payment_point=world.point,
        )
    payroll_generate(payroll=payroll)  # writes the lines ...
    Payroll.objects.filter(pk=payroll.pk).update(
        status=PayrollStatus.GENERATING
    )  # ... of a half-made payroll
    Benefit.objects.filter(payroll=payroll).exclude(
        pk=Benefit.objects.filter(payroll=payroll).first().pk
    ).delete()
    assert Benefit.objects.filter(payroll=payroll).count() == 1
    task_id = uuid.uuid4()
    DBTaskResult.objects.create(
        id=task_id,
        status=TaskResultStatus.RUNNING,
        args_kwargs={"args": [payroll.job_id, payroll.pk], "kwargs": {}},
        task_path="payments.tasks.payroll_generate_job",
        backend_name="default",
        run_after=timezone.now(),
    )
    Job.objects.filter(pk=payroll.job_id).update(task_id=str(task_id))
    _running(payroll.job, expired=True, message="1 lines written")
    payroll.refresh_from_db()
    return payroll


def test_sweep_fails_expired_jobs_only_with_the_reason(dead_payroll: Payroll, maker):
    alive = _running(Job.objects.create(kind="tests.other", label="Alive", created_by=maker), expired=False)
    queued = Job.objects.create(kind="tests.other", label="Queued", created_by=maker)
    before_lease = Job.objects.create(kind="tests.other", label="Old worker", created_by=maker)
    Job.objects.filter(pk=before_lease.pk).update(
        state=JobState.RUNNING, started_at=timezone.now() - timedelta(hours=1)
    )

    failed = jobs_sweep()

    assert sorted(job.pk for job in failed) == sorted([dead_payroll.job_id, before_lease.pk])
    job = Job.objects.get(pk=dead_payroll.job_id)
    assert job.state == JobState.FAILED and job.finished_at
    assert job.error.startswith(
        "The worker stopped while “1 lines written” (2 of 3): no heartbeat from gone-host:4242"
    )
    assert job.message == job.error[:500]
    result = DBTaskResult.objects.get(pk=job.task_id)
    assert result.status == TaskResultStatus.FAILED and result.exception_class_path == WORKER_LOST
    assert result.traceback == job.error and result.finished_at
    assert Job.objects.get(pk=before_lease.pk).state == JobState.FAILED
    assert Job.objects.get(pk=alive.pk).state == JobState.RUNNING
    assert Job.objects.get(pk=queued.pk).state == JobState.QUEUED
    assert jobs_sweep() == []


def test_half_made_payroll_loses_its_lines_and_is_failed(dead_payroll: Payroll):
    jobs_sweep()
    dead_payroll.refresh_from_db()
    assert dead_payroll.status == PayrollStatus.FAILED
    assert dead_payroll.error.startswith("The worker stopped while")
    assert not Benefit.objects.filter(payroll=dead_payroll).exists()


def test_a_job_whose_process_holds_its_lock_is_alive_after_its_lease(
    dead_payroll: Payroll, settings, tmp_path
):
    settings.JOBS_RUNTIME_DIR = tmp_path
    lock = JobLock(dead_payroll.job_id).acquire()
    try:
        assert jobs_sweep() == []  # on SQLite the heartbeat waits while the job holds the write lock
    finally:
        lock.release()
    assert [job.pk for job in jobs_sweep()] == [dead_payroll.job_id]


def test_retry_regenerates_the_payroll_from_the_admin_by_post_only(
    dead_payroll: Payroll, world: World, client
):
    jobs_sweep()
    job = Job.objects.get(pk=dead_payroll.job_id)
    url = reverse("admin:jobs_job_retry", args=[job.pk])
    client.force_login(world.officer)
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert page.status_code == 200 and url.encode() in page.content
    assert client.get(url).status_code == 405

    response = client.post(url)

    job.refresh_from_db()
    dead_payroll.refresh_from_db()
    new = job.retried_as
    assert new is not None and new.state == JobState.QUEUED and new.created_by == world.officer
    assert response.status_code == 302 and response.url == reverse("admin:jobs_job_change", args=[new.pk])
    assert (
        dead_payroll.status == PayrollStatus.GENERATING and dead_payroll.job == new and not dead_payroll.error
    )
    assert not Benefit.objects.filter(payroll=dead_payroll).exists()
    client.post(url)  # a second click
    assert Job.objects.filter(kind=job.kind).count() == 2


def test_cancel_cancels_the_payroll(dead_payroll: Payroll, world: World, client):
    jobs_sweep()
    job = Job.objects.get(pk=dead_payroll.job_id)
    client.force_login(world.officer)
    assert client.get(reverse("admin:jobs_job_cancel", args=[job.pk])).status_code == 405
    client.post(reverse("admin:jobs_job_cancel", args=[job.pk]))
    job.refresh_from_db()
    dead_payroll.refresh_from_db()
    assert job.state == JobState.CANCELLED and dead_payroll.status == PayrollStatus.CANCELLED


def test_who_may_not_retry_or_cancel_gets_no_button_and_no_change(dead_payroll: Payroll, tree, client):
    jobs_sweep()
    job = Job.objects.get(pk=dead_payroll.job_id)
    auditor = make_user("auditor", roles=(AUDITOR,), locations=(tree.north,))
    client.force_login(auditor)  # sees every job, changes nothing
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert page.status_code == 200
    assert reverse("admin:jobs_job_retry", args=[job.pk]).encode() not in page.content
    assert reverse("admin:jobs_job_cancel", args=[job.pk]).encode() not in page.content
    client.post(reverse("admin:jobs_job_retry", args=[job.pk]))
    client.post(reverse("admin:jobs_job_cancel", args=[job.pk]))
    job.refresh_from_db()
    dead_payroll.refresh_from_db()
    assert job.state == JobState.FAILED and job.retried_as is None
    assert dead_payroll.status == PayrollStatus.FAILED

    other = make_user("other", locations=(tree.north,))  # sees only their own jobs
    client.force_login(other)
    assert client.post(reverse("admin:jobs_job_retry", args=[job.pk])).status_code in (302, 403, 404)
    job.refresh_from_db()
    assert job.retried_as is None
    client.logout()
    assert client.post(reverse("admin:jobs_job_retry", args=[job.pk])).status_code == 302  # to the login
    job.refresh_from_db()
    assert job.retried_as is None


@pytest.fixture
def test_actions():
    actions.register_test_actions()
    yield
    actions.unregister_test_actions()


def test_dead_approved_task_is_failed_then_an_approver_retries_it(
    test_actions, tree, maker, checker, django_capture_on_commit_callbacks
):
    from registry.models import Location

    Location.objects.create(code="N-C", name="child", parent=tree.north_a)
    task = approval_request(action=actions.BULK, target=tree.north_a, payload={}, maker=maker)
    with django_capture_on_commit_callbacks(execute=False):
        task = task_approve(task=task, user=checker)
    assert task.state == TaskState.EXECUTING
    _running(task.job, expired=True, message="Renamed 1")

    jobs_sweep()

    task.refresh_from_db()
    assert task.state == TaskState.FAILED and task.error.startswith("The worker stopped while “Renamed 1”")
    job = Job.objects.get(pk=task.job_id)
    with pytest.raises(Exception, match="its maker"):
        job_retry(job=job, user=maker)
    with django_capture_on_commit_callbacks(execute=False):
        new = job_retry(job=job, user=checker)
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTING and task.job == new != job


def test_dead_approved_task_is_cancelled_by_its_maker(
    test_actions, tree, maker, checker, django_capture_on_commit_callbacks
):
    task = approval_request(action=actions.BULK, target=tree.north_a, payload={}, maker=maker)
    with django_capture_on_commit_callbacks(execute=False):
        task = task_approve(task=task, user=checker)
    job = _running(task.job, expired=True)
    jobs_sweep()
    with pytest.raises(Exception, match="maker"):
        job_cancel(job=Job.objects.get(pk=job.pk), user=checker)
    job_cancel(job=Job.objects.get(pk=job.pk), user=maker)
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED and Job.objects.get(pk=job.pk).state == JobState.CANCELLED


def test_dead_summary_refresh_is_retried_by_whoever_started_it(
    maker, south_officer, django_capture_on_commit_callbacks
):
    from portal.summaries import summaries_refresh_start

    with django_capture_on_commit_callbacks(execute=False):
        job = summaries_refresh_start(user=maker)
    _running(job, expired=True, message="Counting households")
    jobs_sweep()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    with pytest.raises(Exception, match="whoever started"):
        job_retry(job=job, user=south_officer)
    with django_capture_on_commit_callbacks(execute=False):
        new = job_retry(job=job, user=maker)
    assert new.state == JobState.QUEUED and new.kind == job.kind


def test_sweep_ends_a_dead_workers_database_session_on_postgresql(maker):
    """A dead worker's statement may run on and hold the locks the clean-up needs: its session is ended."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL sessions")
    import psycopg2

    from jobs.leases import db_session_end

    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pid || '@' || backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            )
            session = cursor.fetchone()[0]
        job = _running(Job.objects.create(kind="tests.other", label="Dead", created_by=maker), expired=True)
        Job.objects.filter(pk=job.pk).update(db_session=session)
        assert db_session_end(session.split("@")[0] + "@2000-01-01 00:00:00+00") is False  # not that session
        assert [dead.pk for dead in jobs_sweep()] == [job.pk]
        with pytest.raises(psycopg2.Error), other.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        other.close()


def test_sweep_command_reports_the_dead_jobs(dead_payroll: Payroll):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("jobs_sweep", stdout=out)
    assert (
        f"Job #{dead_payroll.job_id} ({dead_payroll.job.label}): The worker stopped while" in out.getvalue()
    )
    assert out.getvalue().endswith("1 dead job(s) found.\n")


def test_persistent_connections_are_health_checked(settings):
    persistent = [alias for alias, db in settings.DATABASES.items() if db.get("CONN_MAX_AGE", 0) != 0]
    assert all(settings.DATABASES[alias].get("CONN_HEALTH_CHECKS") for alias in persistent)
    if connection.vendor == "postgresql":
        assert persistent  # the default connection persists (DB_CONN_MAX_AGE), so the check is not empty


cleaned: list[tuple[int, str]] = []


@task()
def interrupted(job_id: int) -> None:
    with job_running(job_id) as progress:
        progress(done=1, total=2, message="Half-way")
        raise KeyboardInterrupt


job_kind_register(interrupted, cleanup=lambda *, job, reason: cleaned.append((job.pk, reason)))


def test_a_worker_told_to_stop_fails_and_cleans_its_job_at_once(maker):
    job = Job.objects.create(kind=task_kind(interrupted), label="Interrupted", created_by=maker)
    with pytest.raises(KeyboardInterrupt):
        interrupted.func(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error.startswith("The worker was stopped while “Half-way” (1 of 2).")
    assert cleaned == [(job.pk, job.error)]
