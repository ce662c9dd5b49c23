"""Builders for the programmes tests: plans of both types, a registry in North and South, officers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import User
from guardian.shortcuts import assign_perm

from approvals.models import Task, TaskState
from approvals.services import task_approve
from approvals.tasks import task_execute_job
from programs.models import Beneficiary, BenefitPlan, PlanStatus, PlanType
from registry.models import Household, Individual, Sex
from tests.conftest import Tree


def grant(user: User, plan: BenefitPlan, *codenames: str) -> User:
    for codename in codenames or ("view_benefitplan", "manage_beneficiaries"):
        assign_perm(f"programs.{codename}", user, plan)
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def approve(task: Task, checker: User) -> Task:
    """Approve; a background action's job runs here, in-process, as the worker would run it."""
    task = task_approve(task=task, user=checker)
    task.refresh_from_db()
    if task.state == TaskState.EXECUTING:
        task_execute_job.func(task.job_id, task.pk)
        task.refresh_from_db()
    return task


@dataclass
class Registry:
    north_households: list[Household]
    south_households: list[Household]
    north_people: list[Individual]
    south_people: list[Individual]


@pytest.fixture
def registry(tree: Tree) -> Registry:
    north_hh = [
        Household.objects.create(code=f"N-{i:03d}", location=tree.north_a if i % 2 else tree.north_b)
        for i in range(6)
    ]
    south_hh = [Household.objects.create(code=f"S-{i:03d}", location=tree.south) for i in range(3)]
    north_people = [
        Individual.objects.create(
            given_name=f"Nina{i}",
            family_name="North",
            sex=Sex.FEMALE if i % 2 else Sex.MALE,
            birth_date=date(1950 + 10 * i, 1, 1),
            location=tree.north_a,
            data={},
        )
        for i in range(5)
    ]
    south_people = [
        Individual.objects.create(
            given_name=f"Sam{i}",
            family_name="South",
            sex=Sex.MALE,
            birth_date=date(1990, 1, 1),
            location=tree.south,
        )
        for i in range(2)
    ]
    return Registry(north_hh, south_hh, north_people, south_people)


def make_plan(
    code: str = "CT", *, plan_type: str = PlanType.HOUSEHOLD, status: str = PlanStatus.ACTIVE, **fields
) -> BenefitPlan:
    return BenefitPlan.objects.create(
        code=code,
        name=f"Plan {code}",
        plan_type=plan_type,
        start_date=date(2026, 1, 1),
        status=status,
        **fields,
    )


@pytest.fixture
def household_plan(db) -> BenefitPlan:
    return make_plan("CASH", plan_type=PlanType.HOUSEHOLD)


@pytest.fixture
def individual_plan(db) -> BenefitPlan:
    return make_plan("PENSION", plan_type=PlanType.INDIVIDUAL)


@pytest.fixture
def officer(maker: User, household_plan: BenefitPlan, individual_plan: BenefitPlan) -> User:
    """The maker, assigned to both plans."""
    grant(maker, household_plan)
    return grant(maker, individual_plan)


@pytest.fixture
def approver(checker: User, household_plan: BenefitPlan, individual_plan: BenefitPlan) -> User:
    """The checker, allowed to see both plans."""
    grant(checker, household_plan, "view_benefitplan")
    return grant(checker, individual_plan, "view_benefitplan")


def beneficiaries(plan: BenefitPlan) -> list[Beneficiary]:
    return list(Beneficiary.objects.filter(benefit_plan=plan).order_by("pk"))
