"""A failed payment line re-issued into the next payroll as a ticket's resolution: asked from the ticket
(maker-checker), scheduled when approved (the ticket resolves), copied by the plan's next payroll, and
traceable both ways; refused for a line not failed, re-issued already, or outside the user's scope."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from approvals.models import Task, TaskState
from grievances.models import EventKind, TicketStatus
from grievances.resolutions import PAYMENT_REISSUE, ticket_resolution_request
from grievances.services import ticket_assign, ticket_create, ticket_start
from payments.models import (
    Benefit,
    BenefitEvent,
    BenefitEventKind,
    BenefitReissue,
    BenefitStatus,
    PaymentCycle,
    Payroll,
)
from payments.services import benefit_reissue_request, payroll_carry_over, payroll_create
from tests.conftest import make_user
from tests.payments.conftest import sent_payroll, world_build
from tests.programs.conftest import approve, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(world, tree):
    """The payments world's payroll sent; its first line failed, the others paid; grace may request payments
    of the plan."""
    payments = world_build(tree)
    payroll = sent_payroll(payments)
    lines = list(Benefit.objects.filter(payroll=payroll).order_by("pk"))
    Benefit.objects.filter(pk=lines[0].pk).update(status=BenefitStatus.FAILED, failure_reason="Wrong wallet")
    Benefit.objects.filter(pk__in=[line.pk for line in lines[1:]]).update(status=BenefitStatus.PAID)
    grant(world.grace, payments.plan, "view_benefitplan", "request_payments")
    failed = Benefit.objects.get(pk=lines[0].pk)
    return payments, payroll, failed, lines[1]


def _ticket_in_progress(world, line):
    from django.contrib.auth.models import User

    grace = User.objects.get(pk=world.grace.pk)
    ticket = ticket_create(
        user=grace, channel="phone", category=world.payments, description="Payment never came.", subject=line
    )
    ticket = ticket_assign(ticket=ticket, user=grace, assignee=grace)
    return ticket_start(ticket=ticket, user=grace), grace


def _next_payroll(payments) -> Payroll:
    february = PaymentCycle.objects.create(
        code="2026-02", start_date=date(2026, 2, 1), end_date=date(2026, 2, 28)
    )
    payroll = payroll_create(
        user=payments.officer,
        payment_plan=Payroll.objects.order_by("pk").first().payment_plan,
        cycle=february,
        payment_point=payments.point,
        background=False,
    )
    payroll.refresh_from_db()
    return payroll


def test_the_reissue_resolves_the_ticket_and_goes_into_the_next_payroll(
    world, paid, django_capture_on_commit_callbacks, client, admin_user
):
    payments, payroll, failed, _ = paid
    ticket, grace = _ticket_in_progress(world, failed)
    with django_capture_on_commit_callbacks(execute=True):
        task = ticket_resolution_request(
            ticket=ticket, user=grace, comment="Pay it to the new wallet", action=PAYMENT_REISSUE
        )
    ticket.refresh_from_db()
    assert task.action == PAYMENT_REISSUE and task.state == TaskState.PENDING
    assert ticket.resolution_task == task and ticket.status == TicketStatus.IN_PROGRESS
    assert not BenefitReissue.objects.exists()  # nothing before the checker approves

    with django_capture_on_commit_callbacks(execute=True):
        task = approve(task, payments.approver)
    assert task.state == TaskState.EXECUTED
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.events.filter(kind=EventKind.RESOLVED, data__task=task.pk).exists()
    reissue = BenefitReissue.objects.get()
    assert reissue.original == failed and reissue.new_line is None and reissue.task == task
    failed.refresh_from_db()
    assert failed.status == BenefitStatus.FAILED  # until the next payroll takes it

    nxt = _next_payroll(payments)
    reissue.refresh_from_db()
    new_line = reissue.new_line
    assert new_line is not None and new_line.payroll == nxt and reissue.issued_at is not None
    assert new_line.amount == failed.amount and new_line.beneficiary_id == failed.beneficiary_id
    assert new_line.cycle_id == failed.cycle_id and new_line.status == BenefitStatus.PENDING
    assert new_line.reissued_from.original == failed  # both ways
    failed.refresh_from_db()
    assert failed.status == BenefitStatus.CARRIED
    # The regular lines of the new cycle are there too: 3 beneficiaries + the re-issued line.
    assert Benefit.objects.filter(payroll=nxt).count() == 4
    assert BenefitEvent.objects.filter(
        benefit=failed, kind=BenefitEventKind.REISSUE_APPROVED, task=task
    ).exists()
    assert BenefitEvent.objects.filter(benefit=failed, kind=BenefitEventKind.REISSUED).exists()
    event = BenefitEvent.objects.get(benefit=new_line, kind=BenefitEventKind.REISSUED_IN)
    assert failed.reference in event.note
    # The line pages show it both ways.
    client.force_login(admin_user)
    page = client.get(f"/admin/payments/benefit/{failed.pk}/change/").content.decode()
    assert "Re-issued as" in page and new_line.reference in page
    page = client.get(f"/admin/payments/benefit/{new_line.pk}/change/").content.decode()
    assert "Re-issue of" in page and failed.reference in page
    # A payroll after that one takes it no more.
    march = PaymentCycle.objects.create(
        code="2026-03", start_date=date(2026, 3, 1), end_date=date(2026, 3, 31)
    )
    later = payroll_create(
        user=payments.officer,
        payment_plan=nxt.payment_plan,
        cycle=march,
        payment_point=payments.point,
        background=False,
    )
    assert Benefit.objects.filter(payroll=later).count() == 3


def test_a_line_not_failed_is_refused(world, paid):
    payments, payroll, failed, paid_line = paid
    ticket, grace = _ticket_in_progress(world, paid_line)
    with pytest.raises(ValidationError) as refused:
        ticket_resolution_request(ticket=ticket, user=grace, comment="Pay again", action=PAYMENT_REISSUE)
    assert "only a failed line" in str(refused.value) and "benefit" in refused.value.message_dict
    ticket.refresh_from_db()
    assert ticket.resolution_task is None and not Task.objects.filter(action=PAYMENT_REISSUE).exists()


def test_a_line_reissued_already_or_waiting_is_refused(world, paid, django_capture_on_commit_callbacks):
    payments, payroll, failed, _ = paid
    ticket, grace = _ticket_in_progress(world, failed)
    task = ticket_resolution_request(ticket=ticket, user=grace, comment="Pay again", action=PAYMENT_REISSUE)
    with pytest.raises(ValidationError, match="waiting|open|already"):
        benefit_reissue_request(user=grace, benefit=failed, reason="Twice")
    with django_capture_on_commit_callbacks(execute=True):
        approve(task, payments.approver)
    with pytest.raises(ValidationError) as refused:
        benefit_reissue_request(user=grace, benefit=failed, reason="Twice")
    assert "already re-issued" in str(refused.value)
    # Carry-over leaves it to the next payroll: it is not paid twice.
    Payroll.objects.filter(pk=payroll.pk).update(status="reconciling")
    with pytest.raises(ValidationError, match="no failed line"):
        payroll_carry_over(user=payments.officer, payroll=payroll)


def test_a_line_outside_the_scope_is_refused(world, paid, tree):
    payments, payroll, failed, _ = paid
    from access.roles import GRIEVANCE_OFFICER

    southerner = grant(
        make_user("south-payer", roles=(GRIEVANCE_OFFICER,), locations=(tree.south,)),
        payments.plan,
        "view_benefitplan",
        "request_payments",
    )
    with pytest.raises(ValidationError, match="outside your plans and locations"):
        benefit_reissue_request(user=southerner, benefit=failed, reason="Pay")
    no_plan = make_user("north-nopay", roles=(GRIEVANCE_OFFICER,), locations=(tree.north,))
    with pytest.raises(ValidationError, match="outside your plans|may not request payments"):
        benefit_reissue_request(user=no_plan, benefit=failed, reason="Pay")
    assert not Task.objects.filter(action=PAYMENT_REISSUE).exists()


def test_a_forged_post_for_a_paid_line_stores_nothing(world, paid, client):
    payments, payroll, failed, paid_line = paid
    ticket, grace = _ticket_in_progress(world, paid_line)
    client.force_login(grace)
    response = client.post(
        f"/admin/grievances/ticket/{ticket.pk}/do/request/",
        {"action": PAYMENT_REISSUE, "comment": "Pay again"},
        follow=True,
    )
    assert "only a failed line" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.resolution_task is None and not BenefitReissue.objects.exists()
    assert not Task.objects.filter(action=PAYMENT_REISSUE).exists()


def test_a_forged_post_by_someone_not_handling_the_ticket_stores_nothing(world, paid, client):
    payments, payroll, failed, _ = paid
    ticket, _grace = _ticket_in_progress(world, failed)
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="southg"))
    response = client.post(
        f"/admin/grievances/ticket/{ticket.pk}/do/request/", {"action": PAYMENT_REISSUE, "comment": "Pay"}
    )
    assert response.status_code == 404
    assert not Task.objects.filter(action=PAYMENT_REISSUE).exists()
