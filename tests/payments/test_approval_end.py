"""A payroll's approval that ends without approving it rejects the payroll, in a receiver of
`approvals.signals.task_ended` (sent here by the test); viewing the payroll's page changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from approvals.models import Task, TaskState
from approvals.services import task_cancel, task_reject
from approvals.signals import task_ended
from payments.models import Benefit, BenefitEvent, BenefitEventKind, BenefitStatus, Payroll, PayrollStatus
from payments.services import APPROVE_ACTION, RELEASE_ACTION, benefit_release_request, payroll_submit
from tests.payments.conftest import World, approve, generate, make_payment_plan, submitted


def ended(task: Task, outcome: str | None = None, action: str | None = None) -> None:
    """What approvals sends once the transaction that ended the task has committed."""
    task.refresh_from_db()
    task_ended.send(sender=Task, task=task, action=action or task.action, outcome=outcome or task.state)


def end(world: World, task: Task, outcome: str) -> Task:
    """The task really ended as `outcome` by approvals (rejected, cancelled, or failed on approval)."""
    if outcome == TaskState.REJECTED:
        return task_reject(task=task, user=world.approver, comment="Wrong cycle")
    if outcome == TaskState.CANCELLED:
        return task_cancel(task=task, user=world.officer, comment="Formula to fix")
    Benefit.objects.filter(payroll_id=task.object_id).update(amount=1)  # the total changed: the task fails
    return approve(task, world.approver)


@pytest.mark.parametrize("outcome", [TaskState.REJECTED, TaskState.CANCELLED, TaskState.FAILED])
def test_an_approval_ended_undone_rejects_the_payroll_and_frees_its_lines(world: World, outcome: str) -> None:
    payroll, task = submitted(world)
    task = end(world, task, outcome)
    assert task.state == outcome
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL  # nothing happens before the signal
    ended(task)
    payroll.refresh_from_db()
    label = {"rejected": "rejected", "cancelled": "cancelled", "failed": "failed"}[outcome]
    assert payroll.status == PayrollStatus.REJECTED and payroll.error == f"Task #{task.pk} was {label}."
    lines = Benefit.objects.filter(payroll=payroll)
    assert lines.count() == 3 and not lines.exclude(status=BenefitStatus.CANCELLED).exists()
    events = BenefitEvent.objects.filter(payroll=payroll, kind=BenefitEventKind.CANCELLED)
    assert events.count() == 3 and {(e.task_id, e.note, e.from_status) for e in events} == {
        (task.pk, payroll.error, BenefitStatus.PENDING)
    }
    decider = {"rejected": world.approver, "cancelled": world.officer, "failed": world.approver}[outcome]
    assert {event.user_id for event in events} == {decider.pk}


def test_a_new_payroll_pays_the_cycle_after_a_rejection(world: World) -> None:
    payroll, task = submitted(world)
    ended(end(world, task, TaskState.REJECTED))
    again = generate(world, payroll.payment_plan)
    assert again.status == PayrollStatus.DRAFT and Benefit.objects.filter(payroll=again).count() == 3


def test_the_signal_twice_changes_the_payroll_once(world: World) -> None:
    payroll, task = submitted(world)
    task = end(world, task, TaskState.REJECTED)
    ended(task)
    history = payroll.history.count()
    ended(task)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.REJECTED and payroll.history.count() == history
    assert BenefitEvent.objects.filter(payroll=payroll, kind=BenefitEventKind.CANCELLED).count() == 3


def test_an_executed_approval_is_left_approved(world: World) -> None:
    payroll, task = submitted(world)
    task = approve(task, world.approver)
    assert task.state == TaskState.EXECUTED
    ended(task)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.APPROVED
    assert not Benefit.objects.filter(payroll=payroll, status=BenefitStatus.CANCELLED).exists()


def test_other_actions_leave_the_payroll_alone(world: World) -> None:
    """A release of held lines rejected changes nothing: its request changed nothing either."""
    from decimal import Decimal

    payroll = generate(world, make_payment_plan(world, limit=Decimal("200")))  # 225 and 300 held
    task = payroll_submit(user=world.officer, payroll=payroll)
    release = benefit_release_request(user=world.officer, payroll=payroll)
    assert release.action == RELEASE_ACTION
    release = task_reject(task=release, user=world.approver, comment="Not this month")
    ended(release)
    ended(task, outcome=TaskState.REJECTED, action="programs.plan_update")  # not a payroll's approval
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL and task.state == TaskState.PENDING
    assert set(Benefit.objects.filter(payroll=payroll).values_list("status", flat=True)) == {
        BenefitStatus.PENDING,
        BenefitStatus.HELD,
    }


def test_an_earlier_task_does_not_decide_for_a_later_one(world: World) -> None:
    payroll, task = submitted(world)
    task = end(world, task, TaskState.REJECTED)
    later = Task.objects.create(
        action=APPROVE_ACTION,
        content_type=ContentType.objects.get_for_model(Payroll),
        object_id=payroll.pk,
        target_repr=str(payroll),
        maker=world.officer,
    )
    assert later.state == TaskState.PENDING
    ended(task)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL


def test_viewing_the_page_of_a_rejected_approval_changes_nothing(client: Client, world: World) -> None:
    payroll, task = submitted(world)
    end(world, task, TaskState.REJECTED)  # and no signal: the page must not make up for it
    history = payroll.history.count()
    client.force_login(world.officer)
    response = client.get(reverse("admin:payments_payroll_change", args=[payroll.pk]))
    assert response.status_code == 200
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL and payroll.history.count() == history
