"""Builders for the verification tests: a sent payroll whose lines are paid, in North A and North B."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import F

from access.roles import VERIFIER
from payments.models import Benefit, BenefitStatus, Payroll, VerificationPlan
from payments.services.verification import (
    SamplingSettings,
    verification_plan_activate,
    verification_plan_create,
)
from tests.conftest import Tree, make_user
from tests.payments.conftest import World, sent_payroll


@dataclass
class Paid:
    world: World
    payroll: Payroll
    verifier: User
    verifier_2: User


def paid_payroll(world: World, tree: Tree, *, north_a: int = 70, north_b: int = 30, failed: int = 5) -> Paid:
    """The world's payroll sent and its 3 lines paid, plus lines in North A and North B (paid, and some
    failed, which are never sampled); every line pays 100.00 unless generated otherwise."""
    payroll = sent_payroll(world)
    Benefit.objects.filter(payroll=payroll).update(status=BenefitStatus.PAID, amount_paid=F("amount"))
    extra = [(tree.north_a, BenefitStatus.PAID)] * (north_a - 3) + [
        (tree.north_b, BenefitStatus.PAID)
    ] * north_b
    extra += [(tree.north_b, BenefitStatus.FAILED)] * failed
    Benefit.objects.bulk_create(
        Benefit(
            payroll=payroll,
            beneficiary_id=10_000_000 + index,  # no database FK: a line needs no real beneficiary here
            cycle=payroll.cycle,
            location=location,
            reference=f"V-{index:05d}",
            amount=Decimal("100.00"),
            amount_paid=Decimal("100.00") if status == BenefitStatus.PAID else None,
            status=status,
        )
        for index, (location, status) in enumerate(extra)
    )
    return Paid(
        world=world,
        payroll=payroll,
        verifier=make_user("verifier", roles=(VERIFIER,), locations=(tree.north,)),
        verifier_2=make_user("verifier2", roles=(VERIFIER,), locations=(tree.north,)),
    )


def started_plan(paid: Paid, *, verifiers: list[User] | None = None, **settings) -> VerificationPlan:
    plan = verification_plan_create(
        user=paid.world.officer,
        payroll=paid.payroll,
        settings=SamplingSettings(**settings),
        verifiers=verifiers or [paid.verifier],
    )
    return verification_plan_activate(user=paid.world.officer, plan=plan)
