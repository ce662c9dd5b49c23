"""Execution: once, in the task's transaction; a failure leaves nothing applied and the reason on the task."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import Approval, Decision, Task, TaskState
from approvals.services import approval_request, task_approve, task_cancel, task_retry
from jobs.models import Job, JobState
from registry.models import Location
from tests.approvals.actions import BULK, EXPLODE, RENAME, executions

pytestmark = pytest.mark.django_db


def test_payload_that_no_longer_validates_fails_the_task_with_the_reason(tree, maker, checker):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "North B"}, maker=maker)
    task = task_approve(task=task, user=checker)  # "North B" is taken meanwhile: it was taken all along
    assert task.state == TaskState.FAILED
    assert task.error == "name: Another location is already called North B."
    assert Task.objects.get(pk=task.pk).state == TaskState.FAILED
    assert Location.objects.get(pk=tree.north_a.pk).name == "North A"
    # The checker's approval stays on the record beside the failure.
    assert Approval.objects.get(task=task).decision == Decision.APPROVE


def test_an_executor_that_breaks_after_writing_leaves_nothing_behind(tree, maker, checker):
    task = approval_request(action=EXPLODE, target=tree.north_a, payload={}, maker=maker)
    task = task_approve(task=task, user=checker)
    assert task.state == TaskState.FAILED
    assert "RuntimeError: the executor broke after writing" in task.error
    assert Location.objects.get(pk=tree.north_a.pk).name == "North A"


def test_a_failed_task_can_be_retried_by_an_approver_once_the_data_is_fixed(tree, maker, checker, checker2):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "North B"}, maker=maker)
    task = task_approve(task=task, user=checker)
    assert task.state == TaskState.FAILED
    with pytest.raises(ValidationError, match="an approver, not its maker"):
        task_retry(task=task, user=maker)
    Location.objects.filter(pk=tree.north_b.pk).update(name="North B (old)")
    task = task_retry(task=task, user=checker2, comment="Fixed the clash")
    assert task.state == TaskState.EXECUTED and task.error == ""
    assert Location.objects.get(pk=tree.north_a.pk).name == "North B"
    assert [a.decision for a in Approval.objects.filter(task=task)] == [Decision.APPROVE, Decision.RETRY]
    assert executions == [task.pk]


def test_a_failed_task_is_not_open_and_its_maker_may_cancel_it(tree, maker, checker):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "North B"}, maker=maker)
    task_approve(task=task, user=checker)
    again = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Fine"}, maker=maker)
    assert again.state == TaskState.PENDING
    with pytest.raises(ValidationError, match=f"Task #{again.pk}"):
        task_retry(task=task, user=checker)  # retrying would make two open tasks
    assert task_cancel(task=task, user=maker).state == TaskState.CANCELLED


def test_approving_a_task_whose_target_was_deleted_fails_it_clearly(tree, maker, checker):
    doomed = Location.objects.create(code="D", name="Doomed", parent=tree.north)
    task = approval_request(action=RENAME, target=doomed, payload={"name": "Saved"}, maker=maker)
    doomed.delete()
    task = task_approve(task=task, user=checker)
    assert task.state == TaskState.FAILED
    assert task.error == "The location this task acts on (Doomed (D)) was deleted."
    assert not Location.objects.filter(name="Saved").exists()
    with pytest.raises(ValidationError, match="is already failed"):
        task_approve(task=task, user=checker)


def test_an_action_no_app_registers_fails_instead_of_hanging(tree, maker, checker):
    from approvals.actions import action_unregister

    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Gone"}, maker=maker)
    action_unregister(RENAME)
    task = task_approve(task=task, user=checker)
    assert task.state == TaskState.FAILED
    assert "No installed app registers the action 'tests.rename_location'" in task.error


def children(tree) -> None:
    for n in range(5):
        Location.objects.create(code=f"N-A-{n}", name=f"child {n}", parent=tree.north_a)


@pytest.mark.django_db(transaction=True)
def test_a_heavy_action_runs_as_a_background_job_with_progress(tree, maker, checker, immediate_jobs):
    children(tree)
    task = approval_request(action=BULK, target=tree.north_a, payload={}, maker=maker)
    task = task_approve(task=task, user=checker)
    assert task.state == TaskState.EXECUTING  # as the approver saw it; the job ran on commit
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTED, task.error
    assert task.result == {"renamed": 5}
    job = Job.objects.get(pk=task.job_id)
    assert (job.state, job.done, job.total, job.message) == (JobState.SUCCEEDED, 5, 5, "Renamed 5")
    assert job.created_by == checker
    assert sorted(Location.objects.filter(parent=tree.north_a).values_list("name", flat=True)) == [
        f"N-A-{n}" for n in range(5)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_failing_background_job_fails_the_task_and_rolls_back(tree, maker, checker, immediate_jobs):
    children(tree)
    task = approval_request(action=BULK, target=tree.north_a, payload={"fail": True}, maker=maker)
    task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert task.error == "The registry changed: the batch no longer validates."
    assert Job.objects.get(pk=task.job_id).state == JobState.FAILED
    assert sorted(Location.objects.filter(parent=tree.north_a).values_list("name", flat=True)) == [
        f"child {n}" for n in range(5)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_queued_background_job_leaves_the_task_executing_until_the_worker_runs_it(tree, maker, checker):
    from approvals.tasks import task_execute_job

    children(tree)
    task = approval_request(action=BULK, target=tree.north_a, payload={}, maker=maker)
    task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTING
    job = Job.objects.get(pk=task.job_id)
    assert job.state == JobState.QUEUED and job.task_id  # queued in the database backend
    task_execute_job.call(job.pk, task.pk)  # what the db_worker does
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTED
    task_execute_job.call(job.pk, task.pk)  # a second delivery of the same job does nothing
    assert Location.objects.filter(parent=tree.north_a, name__startswith="N-A-").count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_heavy_action_without_approval_starts_its_job_at_once(tree, maker, immediate_jobs):
    from approvals.models import ApprovalPolicy

    children(tree)
    ApprovalPolicy.objects.create(action=BULK, requires_approval=False)
    task = approval_request(action=BULK, target=tree.north_a, payload={}, maker=maker)
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTED and task.job.created_by == maker
    assert not Approval.objects.filter(task=task).exists()


def test_an_executor_result_that_is_not_json_fails_the_task_and_rolls_back(tree, maker, checker):
    from approvals.actions import action_register

    def execute(*, target, payload, task, **kwargs):  # type: ignore[no-untyped-def]
        Location.objects.filter(pk=target.pk).update(name="written")
        return {"when": object()}

    action_register("tests.odd_result", label="Odd", executor=execute)
    try:
        task = approval_request(action="tests.odd_result", target=tree.north_a, payload={}, maker=maker)
        task = task_approve(task=task, user=checker)
    finally:
        from approvals.actions import action_unregister

        action_unregister("tests.odd_result")
    assert task.state == TaskState.FAILED and "cannot be stored as JSON" in task.error
    assert Location.objects.get(pk=tree.north_a.pk).name == "North A"


def test_tasks_requested_by_lists_only_the_makers_tasks(tree, maker, south_officer):
    from approvals.selectors import tasks_requested_by

    mine = approval_request(action=RENAME, target=tree.north_a, payload={"name": "A"}, maker=maker)
    approval_request(action=RENAME, target=tree.south, payload={"name": "S"}, maker=south_officer)
    assert list(tasks_requested_by(maker)) == [mine]
