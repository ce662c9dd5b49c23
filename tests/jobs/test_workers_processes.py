"""Several `manage.py jobs_worker` processes share one queue: every job runs exactly once, on some worker,
and its progress is seen from any other process (here the test's, and a page it serves).

Three real worker processes (tests.jobs.workers) run against the test PostgreSQL database, as deployed
(with their "progress" connection). Each run of the test kind appends its job id and process id to a file.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import Job, JobState
from jobs.services import job_running, job_start
from tests.jobs.workers import WAIT_SECONDS, WorkerSite

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="workers on several machines share a PostgreSQL queue"
    ),
    pytest.mark.django_db(transaction=True),
]

WORKERS = 3
JOBS = 12
RUNS = "JOBS_TEST_RUNS"  # the file each run appends "job_id pid" to
GATE = "JOBS_TEST_GATE"  # runs wait at half-way until this file exists


@task()
def record_run_task(job_id: int, number: int) -> None:
    """The test kind: records its run, reports progress, waits at half-way for the test to look."""
    with job_running(job_id) as progress:
        progress(done=0, total=2, message=f"Job {number} started")
        with open(os.environ[RUNS], "a") as runs:
            runs.write(f"{job_id} {os.getpid()}\n")
        progress(done=1, total=2, message=f"Job {number} half done by {os.getpid()}")
        deadline = time.monotonic() + WAIT_SECONDS
        while not Path(os.environ[GATE]).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        progress(done=2, total=2, message=f"Job {number} done")


def test_several_workers_share_the_queue_and_run_each_job_once(worker_site: WorkerSite, admin_user, client):
    runs, gate = worker_site.tmp / "runs", worker_site.tmp / "gate"
    jobs = [job_start(task=record_run_task, label=f"Recorded run {n}", args=(n,)) for n in range(JOBS)]
    ids = {job.pk for job in jobs}
    workers = [worker_site.start(**{RUNS: str(runs), GATE: str(gate)}) for _ in range(WORKERS)]
    pids = {process.pid for process in workers}

    # Every worker holds one job at half-way: three running at once, each on its own process.
    half_way = Job.objects.filter(pk__in=ids, state=JobState.RUNNING, done=1)
    worker_site.wait_for(lambda: half_way.count() == WORKERS, None, "a job running on every worker")
    running = list(half_way)
    assert {int(job.worker.rsplit(":", 1)[1]) for job in running} == pids
    for job in running:
        assert job.message.endswith(f"half done by {job.worker.rsplit(':', 1)[1]}")
    # ...and a page served by another process shows that progress.
    client.force_login(admin_user)
    shown = client.get(reverse("admin:jobs_job_progress", args=[running[0].pk])).json()
    assert shown["state"] == "running" and shown["done"] == 1 and shown["percent"] == 50

    gate.write_text("go")
    finished = Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED)
    worker_site.wait_for(lambda: finished.count() == JOBS, None, "every job to finish")

    records = [line.split() for line in runs.read_text().splitlines()]
    assert Counter(int(job_id) for job_id, _ in records) == Counter(ids)  # each job ran exactly once
    assert {int(pid) for _, pid in records} == pids  # and the queue was shared
    assert all(process.poll() is None for process in workers), worker_site.log()
    results = DBTaskResult.objects.filter(pk__in=[job.task_id for job in Job.objects.filter(pk__in=ids)])
    assert results.count() == JOBS
    assert set(results.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
    assert all(job.done == 2 and job.percent == 100 for job in Job.objects.filter(pk__in=ids))
