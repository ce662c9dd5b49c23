"""A verification plan's life: draft → active (sample drawn) → finished, each step re-checked by the
service (permission, payroll state and scope), and the refusals of bad input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.roles import PAYMENT_OFFICER, VERIFIER
from payments.models import (
    Benefit,
    VerificationMethod,
    VerificationPlan,
    VerificationPlanStatus,
    VerificationRecord,
)
from payments.services.verification import (
    SamplingSettings,
    VerificationAnswer,
    verification_plan_activate,
    verification_plan_create,
    verification_plan_finish,
    verification_record_save,
)
from tests.conftest import make_user
from tests.payments.conftest import generate, make_payment_plan
from tests.payments.verification_world import paid_payroll, started_plan

pytestmark = pytest.mark.django_db

RECEIVED = VerificationAnswer(
    received=True, amount_received="100.00", received_on=date(2026, 1, 20), method=VerificationMethod.PHONE
)


def test_draft_active_finished(world, tree):
    paid = paid_payroll(world, tree)
    plan = verification_plan_create(
        user=world.officer,
        payroll=paid.payroll,
        settings=SamplingSettings(fixed_size=5),
        verifiers=[paid.verifier],
    )
    assert (
        plan.status == VerificationPlanStatus.DRAFT
        and not VerificationRecord.objects.filter(plan=plan).exists()
    )
    plan = verification_plan_activate(user=world.officer, plan=plan)
    assert plan.status == VerificationPlanStatus.ACTIVE and plan.sample_size == 5 and plan.activated_at
    with pytest.raises(ValidationError, match="cannot be started"):
        verification_plan_activate(user=world.officer, plan=plan)
    assert VerificationRecord.objects.filter(plan=plan).count() == 5  # not drawn twice
    plan = verification_plan_finish(user=world.officer, plan=plan)
    assert plan.status == VerificationPlanStatus.FINISHED and plan.finished_at
    with pytest.raises(ValidationError, match="cannot be finished"):
        verification_plan_finish(user=world.officer, plan=plan)
    line = VerificationRecord.objects.filter(plan=plan).first().benefit
    with pytest.raises(ValidationError, match="cannot change"):
        verification_record_save(user=paid.verifier, plan=plan, benefit=line, answer=RECEIVED)


def test_a_payroll_not_paid_is_not_verified(world, tree):
    draft = generate(world, make_payment_plan(world))
    verifier = make_user("verifier", roles=(VERIFIER,), locations=(tree.north,))
    with pytest.raises(ValidationError, match="only a payroll sent to its provider"):
        verification_plan_create(
            user=world.officer, payroll=draft, settings=SamplingSettings(fixed_size=5), verifiers=[verifier]
        )
    assert not VerificationPlan.objects.exists()


def test_sent_but_nothing_paid_yet(world, tree):
    paid = paid_payroll(world, tree, north_a=3, north_b=0, failed=0)
    Benefit.objects.filter(payroll=paid.payroll).update(status="pending", amount_paid=None)
    with pytest.raises(ValidationError, match="no paid line"):
        verification_plan_create(
            user=world.officer, payroll=paid.payroll, settings=SamplingSettings(), verifiers=[paid.verifier]
        )


def test_bad_settings_name_their_field(world, tree):
    paid = paid_payroll(world, tree)
    cases = [
        (SamplingSettings(margin_of_error=None), "margin_of_error"),
        (SamplingSettings(margin_of_error=Decimal("0.7")), "margin_of_error"),
        (SamplingSettings(confidence_level=Decimal("1.2")), "confidence_level"),
        (SamplingSettings(expected_proportion=Decimal("0")), "expected_proportion"),
        (SamplingSettings(fixed_size=0), "fixed_size"),
    ]
    for settings, field in cases:
        with pytest.raises(ValidationError) as caught:
            verification_plan_create(
                user=world.officer, payroll=paid.payroll, settings=settings, verifiers=[paid.verifier]
            )
        assert field in caught.value.message_dict, (settings, caught.value)
    with pytest.raises(ValidationError) as caught:
        verification_plan_create(
            user=world.officer, payroll=paid.payroll, settings=SamplingSettings(), verifiers=[]
        )
    assert "verifiers" in caught.value.message_dict
    assert not VerificationPlan.objects.exists()


def test_a_verifier_outside_the_payroll_locations_is_refused(world, tree):
    paid = paid_payroll(world, tree)
    south = make_user("south_verifier", roles=(VERIFIER,), locations=(tree.south,))
    north_a_only = make_user(
        "na_verifier", roles=(VERIFIER,), locations=(tree.north_a,)
    )  # lines in North B too
    no_role = make_user("clerk", locations=(tree.north,))
    for verifier, message in (
        (south, "does not cover every location"),
        (north_a_only, "does not cover every location"),
        (no_role, "neither a verifier nor a payment officer"),
    ):
        with pytest.raises(ValidationError) as caught:
            verification_plan_create(
                user=world.officer, payroll=paid.payroll, settings=SamplingSettings(), verifiers=[verifier]
            )
        assert message in " ".join(caught.value.message_dict["verifiers"])
    assert not VerificationPlan.objects.exists()


def test_only_an_officer_of_the_payroll_plans_and_starts(world, tree):
    paid = paid_payroll(world, tree)
    south_officer = make_user("south_payer", roles=(PAYMENT_OFFICER,), locations=(tree.south,))
    with pytest.raises(ValidationError):
        verification_plan_create(
            user=south_officer, payroll=paid.payroll, settings=SamplingSettings(), verifiers=[paid.verifier]
        )
    with pytest.raises(ValidationError, match="may not plan"):
        verification_plan_create(
            user=paid.verifier, payroll=paid.payroll, settings=SamplingSettings(), verifiers=[paid.verifier]
        )
    plan = verification_plan_create(
        user=world.officer, payroll=paid.payroll, settings=SamplingSettings(), verifiers=[paid.verifier]
    )
    for intruder in (south_officer, paid.verifier):
        with pytest.raises(ValidationError):
            verification_plan_activate(user=intruder, plan=plan)
    plan.refresh_from_db()
    assert plan.status == VerificationPlanStatus.DRAFT and not plan.records.exists()


def test_records_with_bad_input(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=5)
    line = plan.records.order_by("pk").first().benefit
    cases = [
        (
            VerificationAnswer(received=True, amount_received="-5", received_on=None, method="phone"),
            "amount_received",
        ),
        (
            VerificationAnswer(received=True, amount_received="abc", received_on=None, method="phone"),
            "amount_received",
        ),
        (
            VerificationAnswer(received=True, amount_received=None, received_on=None, method="phone"),
            "amount_received",
        ),
        (
            VerificationAnswer(received=False, amount_received="20", received_on=None, method="phone"),
            "amount_received",
        ),
        (
            VerificationAnswer(received=None, amount_received=None, received_on=None, method="phone"),
            "received",
        ),
        (
            VerificationAnswer(received=True, amount_received="100", received_on=None, method="email"),
            "method",
        ),
        (
            VerificationAnswer(
                received=True, amount_received="100", received_on=date(2999, 1, 1), method="visit"
            ),
            "received_on",
        ),
    ]
    for answer, field in cases:
        with pytest.raises(ValidationError) as caught:
            verification_record_save(user=paid.verifier, plan=plan, benefit=line, answer=answer)
        assert field in caught.value.message_dict, (answer, caught.value)
    assert not plan.records.filter(status="recorded").exists()


def test_a_line_not_in_the_sample_is_refused(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=5)
    outside = (
        Benefit.objects.filter(payroll=paid.payroll).exclude(pk__in=plan.records.values("benefit")).first()
    )
    with pytest.raises(ValidationError, match="is not in the sample"):
        verification_record_save(user=paid.verifier, plan=plan, benefit=outside, answer=RECEIVED)
    assert not VerificationRecord.objects.filter(benefit=outside).exists()


def test_only_its_verifier_or_the_payroll_officer_records_a_line(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=4, verifiers=[paid.verifier, paid.verifier_2])
    theirs = plan.records.filter(verifier=paid.verifier_2).first()
    with pytest.raises(ValidationError, match="not in your sample"):
        verification_record_save(user=paid.verifier, plan=plan, benefit=theirs.benefit, answer=RECEIVED)
    # A verifier moved out of the line's locations after the draw may no longer record it.
    paid.verifier_2.profile.locations.set([tree.south])
    moved = type(paid.verifier_2).objects.get(pk=paid.verifier_2.pk)
    with pytest.raises(ValidationError, match="outside your locations"):
        verification_record_save(user=moved, plan=plan, benefit=theirs.benefit, answer=RECEIVED)
    record = verification_record_save(user=world.officer, plan=plan, benefit=theirs.benefit, answer=RECEIVED)
    assert record.status == "recorded" and record.recorded_by == world.officer


def test_the_database_refuses_a_negative_amount_and_an_incomplete_record(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=1)
    record = plan.records.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        VerificationRecord.objects.filter(pk=record.pk).update(amount_received=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        VerificationRecord.objects.filter(pk=record.pk).update(status="recorded")
