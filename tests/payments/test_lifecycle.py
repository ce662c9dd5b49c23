"""Payroll lifecycle: submit, maker-checker (extra level above an amount), send, reconcile, cancel."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from access.roles import ADMINISTRATOR
from approvals.models import ApprovalLevel, TaskState
from approvals.services import policy_get_or_create, task_approve
from payments.models import Benefit, BenefitStatus, PaymentCycle, PayrollStatus
from payments.services import (
    APPROVE_ACTION,
    benefit_release_request,
    payroll_cancel,
    payroll_carry_over,
    payroll_close,
    payroll_send,
    payroll_submit,
)
from tests.conftest import make_user
from tests.payments.conftest import World, approve, generate, make_payment_plan, sent_payroll


def test_submit_queues_an_approval_with_the_total_and_approval_approves(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    task = payroll_submit(user=world.officer, payroll=payroll)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL
    assert task.amount == Decimal("700.00") and task.action == APPROVE_ACTION
    task = approve(task, world.approver)
    payroll.refresh_from_db()
    assert task.state == TaskState.EXECUTED and payroll.status == PayrollStatus.APPROVED


def test_the_maker_cannot_approve_their_own_payroll(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    task = payroll_submit(user=world.officer, payroll=payroll)
    with pytest.raises(ValidationError):
        task_approve(task=task, user=world.officer)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL


def test_payrolls_above_the_threshold_need_an_extra_level(world: World) -> None:
    policy = policy_get_or_create(action=APPROVE_ACTION)
    ApprovalLevel.objects.create(
        policy=policy,
        order=2,
        role=Group.objects.get(name=ADMINISTRATOR),
        approvers_required=1,
        applies_above_amount=Decimal("500"),
    )
    director = make_user("director", roles=(ADMINISTRATOR,))
    payroll = generate(world, make_payment_plan(world))  # 700 > 500
    task = approve(payroll_submit(user=world.officer, payroll=payroll), world.approver)
    payroll.refresh_from_db()
    assert task.state == TaskState.PENDING and task.current_level == 2
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL
    approve(task, director)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.APPROVED


def test_small_payrolls_skip_the_extra_level(world: World) -> None:
    policy = policy_get_or_create(action=APPROVE_ACTION)
    ApprovalLevel.objects.create(
        policy=policy,
        order=2,
        role=Group.objects.get(name=ADMINISTRATOR),
        approvers_required=1,
        applies_above_amount=Decimal("5000"),
    )
    payroll = generate(world, make_payment_plan(world))
    approve(payroll_submit(user=world.officer, payroll=payroll), world.approver)
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.APPROVED


def test_a_forged_send_before_approval_is_refused(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    with pytest.raises(ValidationError, match="cannot be sent"):
        payroll_send(user=world.officer, payroll=payroll)
    payroll_submit(user=world.officer, payroll=payroll)
    with pytest.raises(ValidationError, match="cannot be submitted"):
        payroll_submit(user=world.officer, payroll=payroll)
    with pytest.raises(ValidationError, match="cannot be sent"):
        payroll_send(user=world.officer, payroll=payroll)


def test_the_approver_cannot_send_or_cancel(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    with pytest.raises(ValidationError, match="may not"):
        payroll_cancel(user=world.approver, payroll=payroll, reason="no")


def test_the_total_changing_after_the_request_fails_the_task(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    task = payroll_submit(user=world.officer, payroll=payroll)
    Benefit.objects.filter(payroll=payroll).update(amount=1)
    task = approve(task, world.approver)
    payroll.refresh_from_db()
    assert task.state == TaskState.FAILED and "total changed" in task.error
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL


def test_cancel_frees_the_cycle_for_a_new_payroll(world: World) -> None:
    plan = make_payment_plan(world)
    payroll = generate(world, plan)
    with pytest.raises(ValidationError, match="Say why"):
        payroll_cancel(user=world.officer, payroll=payroll, reason=" ")
    payroll_cancel(user=world.officer, payroll=payroll, reason="Wrong formula")
    assert set(Benefit.objects.filter(payroll=payroll).values_list("status", flat=True)) == {
        BenefitStatus.CANCELLED
    }
    again = generate(world, plan)
    assert Benefit.objects.filter(payroll=again, status=BenefitStatus.PENDING).count() == 3


def test_held_lines_are_released_by_a_separate_approval(world: World) -> None:
    payroll = generate(world, make_payment_plan(world, limit=Decimal("250")))
    task = benefit_release_request(user=world.officer, payroll=payroll)
    assert task.amount == Decimal("300.00")
    approve(task, world.approver)
    assert not Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD).exists()


def test_close_needs_every_line_reported_and_failed_lines_carry_over(world: World) -> None:
    payroll = sent_payroll(world)
    with pytest.raises(ValidationError, match="still wait"):
        payroll_close(user=world.officer, payroll=payroll)
    first, *rest = Benefit.objects.filter(payroll=payroll).order_by("pk")
    Benefit.objects.filter(pk=first.pk).update(status=BenefitStatus.FAILED, failure_reason="No phone")
    Benefit.objects.filter(pk__in=[b.pk for b in rest]).update(status=BenefitStatus.PAID)
    Benefit.objects.filter(payroll=payroll)  # reporting is tested through the API
    payroll.status = PayrollStatus.RECONCILING
    payroll.save()
    payroll = payroll_close(user=world.officer, payroll=payroll)
    assert payroll.status == PayrollStatus.RECONCILED
    cycle = PaymentCycle.objects.create(
        code="2026-02", start_date=date(2026, 2, 1), end_date=date(2026, 2, 28)
    )
    new = payroll_carry_over(user=world.officer, payroll=payroll, cycle=cycle)
    carried = Benefit.objects.get(payroll=new)
    assert carried.beneficiary_id == first.beneficiary_id and carried.amount == first.amount
    assert (carried.status, carried.reference) == (
        BenefitStatus.PENDING,
        f"PR{new.pk}-{first.beneficiary_id}",
    )
    assert (carried.cycle_id, carried.recipient_id) == (cycle.pk, first.recipient_id)
    assert set(new.locations.all()) == set(payroll.locations.all())
    assert new.status == PayrollStatus.DRAFT
    first.refresh_from_db()
    assert first.status == BenefitStatus.CARRIED
