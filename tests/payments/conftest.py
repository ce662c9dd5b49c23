"""Builders for the payments tests: a household plan with beneficiaries, an officer, a cycle, a provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from access.roles import APPROVER, PAYMENT_OFFICER
from approvals.models import Task
from payments.models import PaymentCycle, PaymentPlan, PaymentPoint, PaymentPointType, Payroll
from payments.services import payment_point_key_rotate, payroll_create
from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan
from registry.models import Household, HouseholdMember, HouseholdRole, Individual, Sex
from tests.conftest import Tree, make_user
from tests.programs.conftest import approve, grant, make_plan

PLAN_SCHEMA = {
    "type": "object",
    "properties": {"school_attendance": {"type": "number"}, "children": {"type": "integer"}},
}


@dataclass
class World:
    plan: BenefitPlan
    households: list[Household]
    beneficiaries: list[Beneficiary]
    officer: User
    approver: User
    cycle: PaymentCycle
    point: PaymentPoint
    key: str


def enrol_household(
    plan: BenefitPlan,
    household: Household,
    *,
    status: str = BeneficiaryStatus.ACTIVE,
    data: dict | None = None,
) -> Beneficiary:
    now = timezone.now()
    return Beneficiary.objects.create(
        benefit_plan=plan,
        household=household,
        location=household.location,
        status=status,
        status_changed_at=now,
        enrolled_at=now,
        data=data or {},
    )


def household_with(code: str, location, size: int) -> Household:
    household = Household.objects.create(code=code, location=location)
    for index in range(size):
        person = Individual.objects.create(
            given_name=f"{code}-{index}",
            family_name="Family",
            sex=Sex.FEMALE,
            birth_date=date(1980 + index, 1, 1),
            location=location,
        )
        HouseholdMember.objects.create(
            household=household,
            individual=person,
            role=HouseholdRole.HEAD if index == 0 else HouseholdRole.CHILD,
            is_primary_recipient=index == 1,
        )
    Household.objects.filter(pk=household.pk).update(size=size)
    household.refresh_from_db()
    return household


@pytest.fixture
def world(tree: Tree) -> World:
    return world_build(tree)


def world_build(tree: Tree) -> World:
    plan = make_plan("CASH", beneficiary_schema=PLAN_SCHEMA)
    households = [household_with(f"H{i}", tree.north_a, size) for i, size in enumerate([1, 3, 8])]
    beneficiaries = [
        enrol_household(plan, households[0], data={"school_attendance": 0.9, "children": 0}),
        enrol_household(plan, households[1], data={"school_attendance": 0.5, "children": 2}),
        enrol_household(plan, households[2], data={"school_attendance": 0.95, "children": 6}),
    ]
    officer = grant(
        make_user("payer", roles=(PAYMENT_OFFICER,), locations=(tree.north,)),
        plan,
        "view_benefitplan",
        "request_payments",
    )
    approver = make_user("approver", roles=(APPROVER,), locations=(tree.north,))
    cycle = PaymentCycle.objects.create(
        code="2026-01", start_date=date(2026, 1, 1), end_date=date(2026, 1, 31)
    )
    point = PaymentPoint.objects.create(name="M-Pesa North", point_type=PaymentPointType.MOBILE_MONEY)
    point.locations.set([tree.north])
    admin = make_user("keymaster", superuser=True)
    key = payment_point_key_rotate(user=admin, payment_point=point)
    return World(plan, households, beneficiaries, officer, approver, cycle, point, key)


def make_payment_plan(
    world: World,
    formula: str = "150 + 25 * min(household_size, 6)",
    condition: str = 'status == "active"',
    limit: Decimal | None = None,
) -> PaymentPlan:
    return PaymentPlan.objects.create(
        benefit_plan=world.plan,
        name="Monthly",
        amount_formula=formula,
        filter_expression=condition,
        per_transaction_limit=limit,
    )


def generate(world: World, payment_plan: PaymentPlan, *, point: PaymentPoint | None = None) -> Payroll:
    payroll = payroll_create(
        user=world.officer,
        payment_plan=payment_plan,
        cycle=world.cycle,
        payment_point=point if point is not None else world.point,
        background=False,
    )
    payroll.refresh_from_db()
    return payroll


__all__ = ["approve", "enrol_household", "generate", "household_with", "make_payment_plan", "World"]


def sent_payroll(world: World, payment_plan: PaymentPlan | None = None) -> Payroll:
    """A payroll generated, approved by the approver and sent to the world's provider."""
    from payments.services import payroll_send, payroll_submit

    payroll = generate(world, payment_plan or make_payment_plan(world))
    approve(payroll_submit(user=world.officer, payroll=payroll), world.approver)
    payroll_send(user=world.officer, payroll=payroll)
    payroll.refresh_from_db()
    return payroll


def submitted(world: World) -> tuple[Payroll, Task]:
    """A payroll generated and submitted: awaiting approval, with its approval task."""
    from payments.services import payroll_submit

    payroll = generate(world, make_payment_plan(world))
    return payroll, payroll_submit(user=world.officer, payroll=payroll)
