"""Enrolment from the registry: preview, request, approval, one set-based insert, and every refusal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import TaskState
from programs.models import Beneficiary, BeneficiaryStatus, PlanStatus
from programs.services import EnrolmentSelection, enrolment_preview, enrolment_request
from tests.programs.conftest import approve, beneficiaries, make_plan

pytestmark = pytest.mark.django_db


def test_enrol_households_after_approval(officer, approver, household_plan, registry, tree):
    selection = EnrolmentSelection()
    preview = enrolment_preview(user=officer, plan=household_plan, selection=selection)
    assert (preview.selected, preview.already_enrolled, preview.to_enrol) == (6, 0, 6)  # North only: the maker's scope
    task = enrolment_request(user=officer, plan=household_plan, selection=selection, status=BeneficiaryStatus.ACTIVE, reason="first wave")
    assert task.state == TaskState.PENDING
    assert not Beneficiary.objects.exists()
    task = approve(task, approver)
    assert task.state == TaskState.EXECUTED, task.error
    assert task.result == {"enrolled": 6, "status": "active"}
    rows = beneficiaries(household_plan)
    assert {row.household.code for row in rows} == {h.code for h in registry.north_households}
    assert all(row.status == BeneficiaryStatus.ACTIVE and row.enrolment_task_id == task.pk for row in rows)
    assert {row.location_id for row in rows} == {tree.north_a.pk, tree.north_b.pk}
    assert rows[0].history.count() == 1  # a "+" history row written set-based
    assert rows[0].history.first().history_user == officer
