"""A payroll's approval rejected, cancelled or failing through `approvals.services`, with the transaction's
on-commit callbacks run: approvals sends `task_ended` and the payments receiver rejects the payroll.

These pass once approvals sends `task_ended` on every end of a task (the approvals branch of issue 16)."""

from __future__ import annotations

from approvals.models import TaskState
from approvals.services import task_approve, task_cancel, task_reject
from payments.models import Benefit, BenefitStatus, PayrollStatus
from tests.payments.conftest import World, submitted


def test_a_checker_rejecting_the_approval_rejects_the_payroll(
    world: World, django_capture_on_commit_callbacks
) -> None:
    payroll, task = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        task = task_reject(task=task, user=world.approver, comment="Wrong cycle")
    payroll.refresh_from_db()
    assert task.state == TaskState.REJECTED
    assert payroll.status == PayrollStatus.REJECTED and payroll.error == f"Task #{task.pk} was rejected."
    assert set(Benefit.objects.filter(payroll=payroll).values_list("status", flat=True)) == {
        BenefitStatus.CANCELLED
    }


def test_the_maker_cancelling_the_approval_rejects_the_payroll(
    world: World, django_capture_on_commit_callbacks
) -> None:
    payroll, task = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        task = task_cancel(task=task, user=world.officer, comment="Formula to fix")
    payroll.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert payroll.status == PayrollStatus.REJECTED and payroll.error == f"Task #{task.pk} was cancelled."


def test_an_approval_failing_on_a_changed_total_rejects_the_payroll(
    world: World, django_capture_on_commit_callbacks
) -> None:
    payroll, task = submitted(world)
    Benefit.objects.filter(payroll=payroll).update(amount=1)
    with django_capture_on_commit_callbacks(execute=True):
        task = task_approve(task=task, user=world.approver)
    payroll.refresh_from_db()
    assert task.state == TaskState.FAILED and "total changed" in task.error
    assert payroll.status == PayrollStatus.REJECTED and payroll.error == f"Task #{task.pk} was failed."


def test_an_executed_approval_leaves_the_payroll_approved(
    world: World, django_capture_on_commit_callbacks
) -> None:
    payroll, task = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        task = task_approve(task=task, user=world.approver)
    payroll.refresh_from_db()
    assert task.state == TaskState.EXECUTED and payroll.status == PayrollStatus.APPROVED
