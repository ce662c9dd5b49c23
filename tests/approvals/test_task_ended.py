"""`task_ended` is sent once for every end of a task, after its transaction committed, never on a rollback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from approvals.models import ApprovalPolicy, Task, TaskState
from approvals.services import (
    approval_request,
    task_approve,
    task_cancel,
    task_fail_after_job,
    task_reject,
    task_retry,
)
from approvals.signals import task_ended, task_executed
from jobs.models import Job, JobState
from jobs.recovery import job_abandon, jobs_sweep
from registry.models import Location
from tests.approvals.actions import BULK, EXPLODE, RENAME

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Heard:
    task: int
    action: str
    outcome: str
    state: str  # the task's state as stored when the receiver ran
    in_transaction: bool


@pytest.fixture
def heard() -> Iterator[list[Heard]]:
    received: list[Heard] = []

    def receiver(sender: Any, *, task: Task, action: str, outcome: str, **kwargs: Any) -> None:
        assert sender is Task
        stored = Task.objects.filter(pk=task.pk).values_list("state", flat=True).first()
        received.append(Heard(task.pk, action, outcome, stored, connection.in_atomic_block))

    task_ended.connect(receiver, dispatch_uid="tests.task_ended")
    yield received
    task_ended.disconnect(dispatch_uid="tests.task_ended")


def _request(tree, maker, *, action: str = RENAME, payload: dict | None = None) -> Task:  # type: ignore[no-untyped-def]
    return approval_request(
        action=action,
        target=tree.north_a,
        payload={"name": "Renamed"} if payload is None else payload,
        maker=maker,
    )


def test_executed_in_the_request_is_heard_once_after_commit(
    tree, maker, checker, heard, django_capture_on_commit_callbacks
):
    executed = []
    task_executed.connect(lambda sender, **kw: executed.append(kw["task"].pk), weak=False, dispatch_uid="t.x")
    try:
        task = _request(tree, maker)
        with django_capture_on_commit_callbacks(execute=True):
            task = task_approve(task=task, user=checker)
            assert heard == []  # not before the decision's transaction commits
    finally:
        task_executed.disconnect(dispatch_uid="t.x")
    assert task.state == TaskState.EXECUTED
    assert heard == [Heard(task.pk, RENAME, TaskState.EXECUTED, TaskState.EXECUTED, True)]
    assert executed == [task.pk]  # the older signal still goes with an execution


def test_executed_at_once_without_approval_is_heard_once(
    tree, maker, heard, django_capture_on_commit_callbacks
):
    ApprovalPolicy.objects.create(action=RENAME, requires_approval=False)
    with django_capture_on_commit_callbacks(execute=True):
        task = _request(tree, maker)
    assert [(h.task, h.outcome) for h in heard] == [(task.pk, TaskState.EXECUTED)]


def test_rejected_is_heard_once(tree, maker, checker, heard, django_capture_on_commit_callbacks):
    task = _request(tree, maker)
    with django_capture_on_commit_callbacks(execute=True):
        task_reject(task=task, user=checker, comment="No")
        assert heard == []
    assert heard == [Heard(task.pk, RENAME, TaskState.REJECTED, TaskState.REJECTED, True)]


def test_cancelled_is_heard_once(tree, maker, heard, django_capture_on_commit_callbacks):
    task = _request(tree, maker)
    with django_capture_on_commit_callbacks(execute=True):
        task_cancel(task=task, user=maker)
        assert heard == []
    assert heard == [Heard(task.pk, RENAME, TaskState.CANCELLED, TaskState.CANCELLED, True)]


def test_a_failing_executor_is_heard_as_failed_once(
    tree, maker, checker, heard, django_capture_on_commit_callbacks
):
    task = _request(tree, maker, action=EXPLODE, payload={})
    with django_capture_on_commit_callbacks(execute=True):
        task = task_approve(task=task, user=checker)
    assert task.state == TaskState.FAILED
    assert heard == [Heard(task.pk, EXPLODE, TaskState.FAILED, TaskState.FAILED, True)]


def test_a_missing_target_is_heard_as_failed_once(
    tree, maker, checker, heard, django_capture_on_commit_callbacks
):
    doomed = Location.objects.create(code="D", name="Doomed", parent=tree.north)
    task = approval_request(action=RENAME, target=doomed, payload={"name": "Saved"}, maker=maker)
    doomed.delete()
    with django_capture_on_commit_callbacks(execute=True):
        task_approve(task=task, user=checker)
    assert [(h.task, h.outcome, h.state) for h in heard] == [(task.pk, TaskState.FAILED, TaskState.FAILED)]


def test_a_failed_task_retried_and_cancelled_ends_once_per_end(
    tree, maker, checker, checker2, heard, django_capture_on_commit_callbacks
):
    task = _request(tree, maker, payload={"name": "North B"})  # taken: the executor refuses
    with django_capture_on_commit_callbacks(execute=True):
        task_approve(task=task, user=checker)
    with django_capture_on_commit_callbacks(execute=True):
        task_retry(task=task, user=checker2)  # still taken: fails again
    with django_capture_on_commit_callbacks(execute=True):
        task_cancel(task=task, user=maker)
    assert [h.outcome for h in heard] == [TaskState.FAILED, TaskState.FAILED, TaskState.CANCELLED]


def test_nothing_is_heard_when_the_transaction_rolls_back(
    tree, maker, checker, heard, django_capture_on_commit_callbacks
):
    task = _request(tree, maker)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            task_reject(task=task, user=checker, comment="No")
            raise RuntimeError("the caller's transaction fails after the decision")
    assert callbacks == [] and heard == []
    assert Task.objects.get(pk=task.pk).state == TaskState.PENDING


def test_a_refused_decision_is_not_heard(tree, maker, checker, heard, django_capture_on_commit_callbacks):
    task = _request(tree, maker)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        task_approve(task=task, user=maker)  # the maker may not approve
    assert heard == []


def _executing(tree, maker, checker, capture, payload: dict | None = None) -> Task:  # type: ignore[no-untyped-def]
    Location.objects.create(code="N-A-1", name="child", parent=tree.north_a)
    task = _request(tree, maker, action=BULK, payload=payload or {})
    with capture(execute=False):  # the job is queued, not run
        task = task_approve(task=task, user=checker)
    assert task.state == TaskState.EXECUTING
    return task


def test_a_job_whose_worker_died_fails_its_task_heard_once(
    tree, maker, checker, heard, django_capture_on_commit_callbacks
):
    task = _executing(tree, maker, checker, django_capture_on_commit_callbacks)
    assert heard == []  # executing is no end
    past = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk=task.job_id).update(
        state=JobState.RUNNING, started_at=past, heartbeat_at=past, lease_expires_at=past
    )
    # The sweep fails the dead job through its kind's clean-up hook (approvals.tasks), as a stopped worker
    # or a lost connection do (jobs.recovery.job_abandon).
    with django_capture_on_commit_callbacks(execute=True):
        assert [job.pk for job in jobs_sweep()] == [task.job_id]
        assert heard == []
        # The worker's own handler fails the task too after a lost connection: no second end.
        task_fail_after_job(task_id=task.pk, error="The connection was lost.")
    assert heard == [Heard(task.pk, BULK, TaskState.FAILED, TaskState.FAILED, True)]
    assert Task.objects.get(pk=task.pk).error.startswith("The worker stopped while")


def test_a_clean_up_that_breaks_sends_nothing(
    tree, maker, checker, heard, monkeypatch, django_capture_on_commit_callbacks
):
    """job_abandon runs the clean-up in a savepoint: a task failed there and rolled back is not heard."""
    import approvals.services as services

    task = _executing(tree, maker, checker, django_capture_on_commit_callbacks)
    Job.objects.filter(pk=task.job_id).update(state=JobState.RUNNING)
    real = services.task_fail_after_job

    def fail_then_break(*, task_id: int, error: str) -> None:
        real(task_id=task_id, error=error)
        raise RuntimeError("the clean-up broke after failing the task")

    monkeypatch.setattr(services, "task_fail_after_job", fail_then_break)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_abandon(job_id=task.job_id, reason="The worker stopped.")
    assert job is not None and "Cleaning up its partial work failed too" in job.error
    assert heard == []
    assert Task.objects.get(pk=task.pk).state == TaskState.EXECUTING


@pytest.mark.django_db(transaction=True)
def test_executed_in_a_background_job_is_heard_once_after_its_commit(
    tree, maker, checker, heard, immediate_jobs
):
    Location.objects.create(code="N-A-1", name="child", parent=tree.north_a)
    task = _request(tree, maker, action=BULK, payload={})
    task_approve(task=task, user=checker)  # the job runs when the decision commits
    assert heard == [Heard(task.pk, BULK, TaskState.EXECUTED, TaskState.EXECUTED, False)]


@pytest.mark.django_db(transaction=True)
def test_a_failing_background_job_is_heard_as_failed_once(tree, maker, checker, heard, immediate_jobs):
    Location.objects.create(code="N-A-1", name="child", parent=tree.north_a)
    task = _request(tree, maker, action=BULK, payload={"fail": True})
    task_approve(task=task, user=checker)
    # The executor's work, and the executed end it would have announced, were rolled back.
    assert heard == [Heard(task.pk, BULK, TaskState.FAILED, TaskState.FAILED, False)]
    assert Job.objects.get(pk=Task.objects.get(pk=task.pk).job_id).state == JobState.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_rejection_is_heard_after_the_real_commit(tree, maker, checker, heard):
    task = _request(tree, maker)
    task_reject(task=task, user=checker, comment="No")
    assert heard == [Heard(task.pk, RENAME, TaskState.REJECTED, TaskState.REJECTED, False)]


def test_a_failing_receiver_is_logged_and_neither_stops_the_others_nor_the_decision(
    tree, maker, checker, caplog, django_capture_on_commit_callbacks
):
    later: list[str] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("a receiver broke")

    def after(sender: Any, *, outcome: str, **kwargs: Any) -> None:
        later.append(outcome)

    task_ended.connect(broken, dispatch_uid="tests.broken")
    task_ended.connect(after, dispatch_uid="tests.after")  # receivers run in the order connected
    try:
        task = _request(tree, maker)
        with django_capture_on_commit_callbacks(execute=True):
            task = task_reject(task=task, user=checker, comment="No")
    finally:
        task_ended.disconnect(dispatch_uid="tests.broken")
        task_ended.disconnect(dispatch_uid="tests.after")
    assert Task.objects.get(pk=task.pk).state == TaskState.REJECTED
    assert later == [TaskState.REJECTED]
    assert f"failed for task #{task.pk}" in caplog.text and "a receiver broke" in caplog.text
