"""The summaries are refreshed after the commits that change the dashboard: once, after the writer commits."""
# ruff: noqa: F811  (the upload tests' fixtures, imported, are parameters here)

from __future__ import annotations

import pytest

from approvals.models import Task, TaskState
from approvals.services import task_approve
from approvals.signals import task_executed
from approvals.tasks import task_execute_job
from jobs.models import Job, JobState
from payments.models import ReconciliationBatch
from portal.models import RegistrySummary
from registry.models import Individual
from tests.uploads.conftest import (  # noqa: F401  (fixtures)
    approve,
    csv_bytes,
    household_plan,
    household_rows,
    immediate_tasks,
    media_root,
    upload,
)
from uploads.services import batch_commit_request

REFRESH = "portal.tasks.summaries_refresh_incremental_task"


def refresh_jobs():  # type: ignore[no-untyped-def]
    return Job.objects.filter(kind=REFRESH)


def committed_upload(
    maker, checker, plan, capture, code: str, family: str, ids: tuple[str, str, str]
) -> Task:  # type: ignore[no-untyped-def]
    """An upload approved by the checker; its background commit waits in the queue (database backend)."""
    rows = household_rows(code, family=family, ids=ids)
    batch = upload(maker, plan, csv_bytes(rows), name=f"{code}.csv")
    task = batch_commit_request(batch=batch, user=maker)
    with capture(execute=True):
        task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTING and task.job_id
    return task


def test_upload_commit_through_approval_refreshes_the_dashboard_once(
    client, maker, checker, administrator, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    batch = upload(maker, household_plan, csv_bytes(household_rows("H1")))
    task = batch_commit_request(batch=batch, user=maker)
    assert not refresh_jobs().exists()  # asking for the commit changes nothing yet
    task = approve(task, checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.EXECUTED, task.error
    # The commit ran, then one refresh (here in-process) recounted the three new people.
    job = refresh_jobs().get()
    assert job.state == JobState.SUCCEEDED and job.created_by is None
    client.force_login(administrator)
    figures = {f.label: f.value for f in client.get("/admin/").context["key_figures"]}
    assert figures["People registered"] == 3 and figures["Households registered"] == 1


def test_refresh_is_queued_after_the_commit_and_not_twice(
    maker, checker, household_plan, django_capture_on_commit_callbacks
):
    first = committed_upload(
        maker,
        checker,
        household_plan,
        django_capture_on_commit_callbacks,
        "H1",
        "Diallo",
        ("ID1", "ID2", "ID3"),
    )
    assert not refresh_jobs().exists()  # approving queued the commit, not a refresh
    # The worker runs the commit: nothing is queued inside its transaction, only once it committed.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_execute_job.func(first.job_id, first.pk)
    assert Individual.objects.count() == 3
    assert not refresh_jobs().exists() and callbacks
    with django_capture_on_commit_callbacks(execute=True):  # the commit's transaction ends
        for callback in callbacks:
            callback()
    job = refresh_jobs().get()
    assert job.state == JobState.QUEUED

    second = committed_upload(
        maker, checker, household_plan, django_capture_on_commit_callbacks, "H2", "Sow", ("ID4", "ID5", "ID6")
    )
    with django_capture_on_commit_callbacks(execute=True):
        task_execute_job.func(second.job_id, second.pk)
    assert Individual.objects.count() == 6
    assert list(refresh_jobs()) == [job]  # the queued refresh will count both uploads

    # Once that refresh has run, the next commit queues a new one.
    from portal.tasks import summaries_refresh_incremental_task

    summaries_refresh_incremental_task.func(job.pk)
    assert RegistrySummary.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(sender=Task, task=second, action="uploads.commit")
    assert refresh_jobs().count() == 2


def test_actions_that_change_no_figure_queue_nothing(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(sender=Task, task=None, action="programs.plan_update")
        task_executed.send(sender=Task, task=None, action="tests.rename")
    assert not refresh_jobs().exists()
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(sender=Task, task=None, action="payments.payroll_approve")
        task_executed.send(sender=Task, task=None, action="programs.beneficiary_status")
    assert refresh_jobs().count() == 1


def test_a_reconciliation_that_changes_lines_queues_one_refresh(tree, django_capture_on_commit_callbacks):
    from payments.models import Benefit
    from payments.services import reconciliation_apply
    from tests.payments.conftest import sent_payroll, world_build

    world = world_build(tree)
    payroll = sent_payroll(world)
    first, second = Benefit.objects.filter(payroll=payroll).order_by("pk")[:2]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer, replayed = reconciliation_apply(
            payment_point=world.point,
            idempotency_key="k1",
            lines=[{"reference": first.reference, "status": "failed", "reason": "Closed"}],
        )
    assert answer["counts"]["accepted"] == 1 and not replayed
    assert not refresh_jobs().exists()  # not inside the provider's transaction
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert refresh_jobs().count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation_apply(
            payment_point=world.point,
            idempotency_key="k2",
            lines=[{"reference": second.reference, "status": "failed", "reason": "Closed"}],
        )
    assert refresh_jobs().count() == 1  # one is queued already


def test_a_reconciliation_that_changes_no_line_queues_nothing(tree, django_capture_on_commit_callbacks):
    from payments.models import Benefit
    from payments.services import reconciliation_apply
    from tests.payments.conftest import sent_payroll, world_build

    world = world_build(tree)
    payroll = sent_payroll(world)
    line = Benefit.objects.filter(payroll=payroll).order_by("pk").first()
    failed = [{"reference": line.reference, "status": "failed", "reason": "Closed"}]
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation_apply(payment_point=world.point, idempotency_key="k1", lines=failed)
    refresh_jobs().delete()  # the refresh of that first, real change
    with django_capture_on_commit_callbacks(execute=True):
        replay, replayed = reconciliation_apply(payment_point=world.point, idempotency_key="k1", lines=failed)
        again, _ = reconciliation_apply(payment_point=world.point, idempotency_key="k2", lines=failed)
        unknown, _ = reconciliation_apply(
            payment_point=world.point,
            idempotency_key="k3",
            lines=[{"reference": "NO-SUCH-LINE", "status": "failed", "reason": "Closed"}],
        )
    assert replayed and again["counts"]["accepted"] == 0 and unknown["counts"]["rejected"] == 1
    assert not refresh_jobs().exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_reconciliation_queues_nothing(tree):
    from django.db import transaction

    from payments.signals import reconciliation_lines_changed

    with pytest.raises(RuntimeError), transaction.atomic():
        reconciliation_lines_changed.send(sender=ReconciliationBatch, batch=None, changed=3)
        raise RuntimeError("the provider's lines were refused")
    assert not refresh_jobs().exists()


def test_a_write_during_a_running_refresh_queues_one_more(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(sender=Task, task=None, action="uploads.commit")
    [running] = refresh_jobs()
    Job.objects.filter(pk=running.pk).update(state=JobState.RUNNING)  # it may have read before this write
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(sender=Task, task=None, action="uploads.commit")
        task_executed.send(sender=Task, task=None, action="payments.payroll_approve")
    assert refresh_jobs().filter(state=JobState.QUEUED).count() == 1
    assert refresh_jobs().count() == 2
    # Refresh pressed by a person while one runs: that one is shown, not a third.
    from portal.summaries import summaries_refresh_start

    assert summaries_refresh_start(user=None).state in (JobState.RUNNING, JobState.QUEUED)
    assert refresh_jobs().count() == 2
