"""A discrepancy (not received, or less than paid) is announced after the commit, once; the summary's
figures: sample size, received rate with its Wilson interval, amount missing and its estimate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from payments.models import VerificationMethod, VerificationRecord
from payments.services.verification import VerificationAnswer, verification_record_save
from payments.signals import verification_discrepancy
from payments.verification_selectors import verification_summary
from tests.payments.verification_world import paid_payroll, started_plan

pytestmark = pytest.mark.django_db


def answer(received: bool, amount: str | None) -> VerificationAnswer:
    return VerificationAnswer(
        received=received,
        amount_received=amount,
        received_on=date(2026, 1, 20),
        method=VerificationMethod.VISIT,
    )


@pytest.fixture
def heard():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    verification_discrepancy.connect(receiver, dispatch_uid="test.heard")
    yield calls
    verification_discrepancy.disconnect(dispatch_uid="test.heard")


def test_not_received_is_announced_after_the_commit_once(
    world, tree, heard, django_capture_on_commit_callbacks
):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=3)
    line = plan.records.order_by("pk").first().benefit
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record = verification_record_save(
            user=paid.verifier, plan=plan, benefit=line, answer=answer(False, None)
        )
    assert heard == [] and len(callbacks) == 1  # nothing before the commit
    callbacks[0]()
    assert len(heard) == 1
    assert heard[0]["sender"] is VerificationRecord and heard[0]["record"].pk == record.pk
    assert heard[0]["line"].pk == line.pk
    assert record.discrepancy and record.amount_received == Decimal("0.00")
    # Corrected while still discrepant: no second ticket.
    with django_capture_on_commit_callbacks(execute=True):
        verification_record_save(user=paid.verifier, plan=plan, benefit=line, answer=answer(True, "10"))
    assert len(heard) == 1


def test_less_than_paid_is_a_discrepancy_full_amount_is_not(
    world, tree, heard, django_capture_on_commit_callbacks
):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=3)
    first, second = [record.benefit for record in plan.records.order_by("pk")[:2]]
    with django_capture_on_commit_callbacks(execute=True):
        full = verification_record_save(
            # The sample is random: each line's own paid amount, not a guess of it.
            user=paid.verifier,
            plan=plan,
            benefit=first,
            answer=answer(True, str(first.amount_paid or first.amount)),
        )
    assert not full.discrepancy and heard == []
    with django_capture_on_commit_callbacks(execute=True):
        short = verification_record_save(
            user=paid.verifier,
            plan=plan,
            benefit=second,
            answer=answer(True, str((second.amount_paid or second.amount) - 1)),
        )
    assert short.discrepancy and [call["line"].pk for call in heard] == [second.pk]


def test_a_refused_record_announces_nothing(world, tree, heard, django_capture_on_commit_callbacks):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=1)
    line = plan.records.get().benefit
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        verification_record_save(user=paid.verifier, plan=plan, benefit=line, answer=answer(False, "-3"))
    assert heard == []


def test_a_failing_receiver_is_logged_and_the_others_run(
    world, tree, heard, caplog, django_capture_on_commit_callbacks
):
    def broken(sender, **kwargs):
        raise RuntimeError("ticket service down")

    verification_discrepancy.connect(broken, dispatch_uid="test.broken")
    try:
        paid = paid_payroll(world, tree)
        plan = started_plan(paid, fixed_size=1)
        with django_capture_on_commit_callbacks(execute=True):
            verification_record_save(
                user=paid.verifier, plan=plan, benefit=plan.records.get().benefit, answer=answer(False, None)
            )
    finally:
        verification_discrepancy.disconnect(dispatch_uid="test.broken")
    assert len(heard) == 1
    assert "ticket service down" in caplog.text


def test_summary_figures(world, tree, django_assert_num_queries):
    paid = paid_payroll(world, tree)  # 100 paid lines of 100.00 (the world's 3 lines pay their formula)
    plan = started_plan(paid, fixed_size=10)
    records = list(plan.records.order_by("pk"))
    for index, record in enumerate(records):
        got = answer(False, None) if index < 2 else answer(True, str(record.amount_paid))
        verification_record_save(user=paid.verifier, plan=plan, benefit=record.benefit, answer=got)
    with django_assert_num_queries(1):
        summary = verification_summary(plan=plan)
    assert (summary["drawn"], summary["recorded"], summary["received"], summary["discrepancies"]) == (
        10,
        10,
        8,
        2,
    )
    rate = summary["received_rate"]
    assert rate.estimate == pytest.approx(0.8)
    assert (rate.low, rate.high) == (pytest.approx(0.4902, abs=1e-3), pytest.approx(0.9433, abs=1e-3))
    missing = records[0].amount_paid + records[1].amount_paid
    assert summary["missing_sampled"] == missing
    assert summary["missing_estimate"].estimate == pytest.approx(float(missing) / 10 * 100)
    assert (
        summary["missing_estimate"].low
        < summary["missing_estimate"].estimate
        < summary["missing_estimate"].high
    )


def test_summary_of_a_partly_received_line(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=4)
    records = list(plan.records.order_by("pk"))
    verification_record_save(
        user=paid.verifier, plan=plan, benefit=records[0].benefit, answer=answer(True, "30")
    )
    summary = verification_summary(plan=plan)
    assert summary["recorded"] == 1 and summary["received"] == 1
    assert summary["missing_sampled"] == records[0].amount_paid - Decimal("30")
