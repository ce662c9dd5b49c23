"""Benefit plans: creation, settings (direct in draft, approved once active), activation, closing in bulk."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.plans import plan_list, user_can_manage_plan
from approvals.models import Task, TaskState
from programs.models import (
    Beneficiary,
    BeneficiaryStatus,
    BeneficiaryStatusChange,
    BenefitPlan,
    PlanStatus,
    PlanType,
)
from programs.selectors import plan_counts
from programs.services import (
    EnrolmentSelection,
    beneficiary_status_change,
    plan_activate,
    plan_close_request,
    plan_create,
    plan_enrol,
    plan_update,
)
from tests.programs.conftest import approve, beneficiaries, make_plan

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {"school_enrolment_confirmed": {"type": "boolean", "title": "School enrolment confirmed"}},
    "required": [],
}


def new_plan(**fields) -> BenefitPlan:
    values = {
        "code": "NEW",
        "name": "New plan",
        "plan_type": PlanType.HOUSEHOLD,
        "start_date": date(2026, 1, 1),
    }
    return BenefitPlan(**{**values, **fields})


def test_create_assigns_creator(maker):
    plan = plan_create(user=maker, plan=new_plan(beneficiary_schema=SCHEMA, max_beneficiaries=100))
    assert plan.status == PlanStatus.DRAFT
    assert user_can_manage_plan(maker, plan)
    assert list(plan_list(user=maker)) == [plan]


def test_create_refuses_bad_input(maker, checker):
    with pytest.raises(ValidationError, match="end date"):
        plan_create(user=maker, plan=new_plan(end_date=date(2025, 1, 1)))
    with pytest.raises(ValidationError) as info:
        plan_create(
            user=maker,
            plan=new_plan(beneficiary_schema={"type": "object", "properties": {"x": {"type": "blob"}}}),
        )
    assert "beneficiary_schema" in info.value.message_dict
    with pytest.raises(ValidationError, match="may not create"):
        plan_create(user=checker, plan=new_plan())
    assert not BenefitPlan.objects.exists()


def test_database_refuses_end_before_start(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_plan("BAD", end_date=date(2025, 1, 1))


def test_draft_changes_apply_at_once(officer, household_plan):
    household_plan.status = PlanStatus.DRAFT
    household_plan.save()
    result = plan_update(
        user=officer, plan=household_plan, changes={"name": "Renamed", "beneficiary_schema": SCHEMA}
    )
    assert isinstance(result, BenefitPlan)
    household_plan.refresh_from_db()
    assert household_plan.name == "Renamed"
    assert household_plan.beneficiary_schema["properties"] == SCHEMA["properties"]


def test_active_changes_need_approval(officer, approver, household_plan):
    task = plan_update(
        user=officer,
        plan=household_plan,
        changes={"max_beneficiaries": 50, "end_date": date(2027, 1, 1)},
        reason="budget",
    )
    assert isinstance(task, Task) and task.action == "programs.plan_update"
    household_plan.refresh_from_db()
    assert household_plan.max_beneficiaries is None
    task = approve(task, approver)
    assert task.state == TaskState.EXECUTED, task.error
    household_plan.refresh_from_db()
    assert (household_plan.max_beneficiaries, household_plan.end_date) == (50, date(2027, 1, 1))


def test_active_plan_refuses_type_and_code_changes(officer, household_plan):
    with pytest.raises(ValidationError, match="can no longer change"):
        plan_update(user=officer, plan=household_plan, changes={"plan_type": PlanType.INDIVIDUAL})


def test_maximum_below_current_refused(officer, household_plan, registry):
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    with pytest.raises(ValidationError, match="cannot be lower"):
        plan_update(user=officer, plan=household_plan, changes={"max_beneficiaries": 3})


def test_invalid_active_change_refused_before_queuing(officer, household_plan):
    with pytest.raises(ValidationError):
        plan_update(user=officer, plan=household_plan, changes={"end_date": date(2020, 1, 1)})
    assert not Task.objects.exists()


def test_activate(officer, south_officer, household_plan):
    household_plan.status = PlanStatus.DRAFT
    household_plan.save()
    with pytest.raises(ValidationError, match="may not manage"):
        plan_activate(user=south_officer, plan=household_plan)
    plan = plan_activate(user=officer, plan=household_plan)
    assert plan.status == PlanStatus.ACTIVE
    with pytest.raises(ValidationError, match="only a draft"):
        plan_activate(user=officer, plan=household_plan)


def test_close_graduates_every_active_in_one_update(
    officer, approver, household_plan, registry, django_assert_max_num_queries
):
    plan_enrol(
        plan=household_plan, user=officer, selection=EnrolmentSelection(), status=BeneficiaryStatus.ACTIVE
    )
    rows = beneficiaries(household_plan)
    beneficiary_status_change(
        user=officer, plan=household_plan, transition="suspend", reason="audit", ids=[rows[0].pk]
    )
    task = plan_close_request(user=officer, plan=household_plan, reason="programme ended")
    assert Beneficiary.objects.filter(status=BeneficiaryStatus.ACTIVE).count() == 5
    with django_assert_max_num_queries(40):  # the approval bookkeeping plus a constant number of statements
        task = approve(task, approver)
    assert task.state == TaskState.EXECUTED, task.error
    assert task.result == {"graduated": 5}
    household_plan.refresh_from_db()
    assert household_plan.status == PlanStatus.CLOSED
    counts = plan_counts(plan=household_plan)
    assert (counts.by_status["graduated"], counts.by_status["suspended"]) == (5, 1)
    assert BeneficiaryStatusChange.objects.filter(task=task, to_status="graduated").count() == 5
    assert set(BeneficiaryStatusChange.objects.filter(task=task).values_list("reason", flat=True)) == {
        "Plan closed: programme ended"
    }


def test_close_needs_reason_and_active_plan(officer, household_plan):
    with pytest.raises(ValidationError, match="reason is required"):
        plan_close_request(user=officer, plan=household_plan, reason="")
    household_plan.status = PlanStatus.DRAFT
    household_plan.save()
    with pytest.raises(ValidationError, match="only an active plan"):
        plan_close_request(user=officer, plan=household_plan, reason="x")


def test_closed_plan_refuses_changes(officer, household_plan):
    household_plan.status = PlanStatus.CLOSED
    household_plan.save()
    with pytest.raises(ValidationError, match="closed"):
        plan_update(user=officer, plan=household_plan, changes={"name": "x"})


def test_counts_by_status_is_one_query(officer, household_plan, registry, django_assert_num_queries):
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    with django_assert_num_queries(1):
        counts = plan_counts(plan=household_plan)
    assert counts.by_status["potential"] == counts.total == counts.current == 6


def test_who_sees_which_plan(
    maker, checker, auditor, administrator, south_officer, household_plan, individual_plan
):
    from tests.programs.conftest import grant

    assert list(plan_list(user=maker)) == []  # the role's global "view" opens the menu, not the plans
    assert list(plan_list(user=grant(maker, household_plan, "view_benefitplan"))) == [household_plan]
    assert not user_can_manage_plan(maker, household_plan)
    for user in (checker, auditor, administrator):  # approvers decide on any plan's tasks
        assert set(plan_list(user=user)) == {household_plan, individual_plan}
    assert user_can_manage_plan(administrator, household_plan)
    assert not user_can_manage_plan(auditor, household_plan)
    assert list(plan_list(user=south_officer)) == []
