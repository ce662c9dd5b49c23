"""Background jobs: queued on commit, progress while running, outcome, a scoped progress page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from jobs.models import Job, JobState
from jobs.services import job_running, job_set_result, job_start
from tests.conftest import make_user

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
}


@task()
def count_to(job_id: int, total: int) -> None:
    with job_running(job_id) as progress:
        for done in range(1, total + 1):
            progress(done=done, total=total, message=f"Counted {done}")
        job_set_result(job_id, result={"counted": total})


@task()
def fail_halfway(job_id: int) -> None:
    with job_running(job_id) as progress:
        progress(done=5, total=10)
        raise ValueError("Row 6 has no household code")


@pytest.mark.django_db
def test_job_is_queued_only_when_the_transaction_commits(maker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_start(task=count_to, label="Count to three", user=maker, args=(3,))
        assert job.state == JobState.QUEUED and job.created_by == maker
        assert job.kind == "tests.jobs.test_jobs.count_to"
        assert not DBTaskResult.objects.exists()
    assert len(callbacks) == 1
    callbacks[0]()
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "tests.jobs.test_jobs.count_to"
    job.refresh_from_db()
    assert job.task_id == str(queued.id)


@pytest.mark.django_db
def test_rolled_back_request_queues_nothing(maker, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            job_start(task=count_to, label="Never", user=maker, args=(3,))
            raise RuntimeError("the request failed")
    assert callbacks == [] and not Job.objects.exists() and not DBTaskResult.objects.exists()


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_running_job_records_progress_and_success(maker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(task=count_to, label="Count to four", user=maker, args=(4,))
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert (job.done, job.total, job.message) == (4, 4, "Counted 4")
    assert job.result == {"counted": 4}
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert job.percent == 100 and job.task_id


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_failing_job_records_the_error(maker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(task=fail_halfway, label="Fails", user=maker)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.message == "Row 6 has no household code"
    assert "Row 6 has no household code" in job.error and "Traceback" in job.error
    assert (job.done, job.total, job.percent) == (5, 10, 50)
    assert job.finished_at is not None
    assert job.as_progress()["finished"] is True


@pytest.mark.django_db
def test_rate_and_time_left():
    now = timezone.now()
    job = Job(
        label="x",
        kind="k",
        state=JobState.RUNNING,
        done=50,
        total=200,
        started_at=now - timedelta(seconds=10),
    )
    assert job.percent == 25
    assert job.rate == pytest.approx(5, rel=0.05)
    assert job.seconds_left == pytest.approx(30, rel=0.05)
    assert Job(label="x", kind="k", done=3).percent == 0


@pytest.fixture
def maker_job(maker) -> Job:
    return Job.objects.create(
        kind="k",
        label="Import households",
        created_by=maker,
        done=25,
        total=100,
        state=JobState.RUNNING,
        started_at=timezone.now(),
    )


def test_progress_json_for_the_owner(client, maker, maker_job):
    client.force_login(maker)
    response = client.get(f"/admin/jobs/job/{maker_job.pk}/progress.json")
    assert response.status_code == 200
    progress = response.json()
    assert progress["id"] == maker_job.pk
    assert (progress["done"], progress["total"], progress["percent"]) == (25, 100, 25)
    assert progress["state"] == "running" and progress["finished"] is False


def test_progress_json_of_another_users_job_is_not_found(client, south_officer, maker_job):
    client.force_login(south_officer)
    assert client.get(f"/admin/jobs/job/{maker_job.pk}/progress.json").status_code == 404
    assert client.get(f"/admin/jobs/job/{maker_job.pk}/change/").status_code == 302  # not in their list
    assert maker_job.label not in client.get("/admin/jobs/job/").content.decode()


def test_administrators_see_every_job(client, administrator, maker_job):
    client.force_login(administrator)
    assert client.get(f"/admin/jobs/job/{maker_job.pk}/progress.json").status_code == 200


def test_anonymous_is_sent_to_login(client, maker_job):
    response = client.get(f"/admin/jobs/job/{maker_job.pk}/progress.json")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_job_page_shows_a_live_progress_bar(client, maker, maker_job):
    client.force_login(maker)
    response = client.get(f"/admin/jobs/job/{maker_job.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-progress-url="/admin/jobs/job/{maker_job.pk}/progress.json"' in page
    assert f'data-job-progress="{maker_job.pk}"' in page and 'style="width: 25%"' in page
    assert "jobs/progress.js" in page


def test_users_without_the_view_job_permission_see_not_even_their_own(client, tree):
    nobody = make_user("nobody", locations=(tree.north,))
    own = Job.objects.create(kind="k", label="Mine", created_by=nobody)
    client.force_login(nobody)
    assert client.get(f"/admin/jobs/job/{own.pk}/progress.json").status_code == 404
