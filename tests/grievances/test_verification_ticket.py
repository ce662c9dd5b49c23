"""A verification discrepancy opens a ticket about the payment line by itself, in "Payment not received",
after the verification commits; a line received in full opens none."""

from __future__ import annotations

from datetime import date

import pytest

from grievances.models import Category, Channel, Ticket
from grievances.verification import PAYMENT_NOT_RECEIVED
from payments.models import VerificationMethod
from payments.services.verification import VerificationAnswer, verification_record_save
from tests.payments.conftest import world_build
from tests.payments.verification_world import paid_payroll, started_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def payments_world(tree):
    return world_build(tree)


def test_the_migration_made_the_category():
    category = Category.objects.get(code=PAYMENT_NOT_RECEIVED)
    assert category.name == "Payment not received" and category.active


def test_not_received_opens_a_ticket_on_the_line(payments_world, tree, django_capture_on_commit_callbacks):
    paid = paid_payroll(payments_world, tree)
    plan = started_plan(paid, fixed_size=3)
    record = plan.records.select_related("benefit").order_by("pk").first()
    line = record.benefit
    answer = VerificationAnswer(
        received=False,
        amount_received=None,
        received_on=None,
        method=VerificationMethod.VISIT,
        comment="Agent kept it",
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        verification_record_save(user=paid.verifier, plan=plan, benefit=line, answer=answer)
    assert not Ticket.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    ticket = Ticket.objects.get()
    assert ticket.benefit_id == line.pk and ticket.location_id == line.location_id
    assert ticket.category.code == PAYMENT_NOT_RECEIVED and ticket.channel == Channel.FIELD_AGENT
    assert line.reference in ticket.description and "Agent kept it" in ticket.description


def test_received_in_full_opens_none(payments_world, tree, django_capture_on_commit_callbacks):
    paid = paid_payroll(payments_world, tree)
    plan = started_plan(paid, fixed_size=1)
    record = plan.records.get()
    answer = VerificationAnswer(
        received=True, amount_received=record.amount_paid, received_on=date(2026, 1, 20), method="phone"
    )
    with django_capture_on_commit_callbacks(execute=True):
        verification_record_save(user=paid.verifier, plan=plan, benefit=record.benefit, answer=answer)
    assert not Ticket.objects.exists()
