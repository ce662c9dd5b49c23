"""Beneficiaries' status: each transition via maker-checker, bulk set-based, refusals writing nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.actions import action_get
from approvals.models import TaskState
from programs.models import Beneficiary, BeneficiaryStatus, BeneficiaryStatusChange, PlanStatus
from programs.services import EnrolmentSelection, beneficiary_status_request, plan_enrol
from tests.programs.conftest import approve, beneficiaries

pytestmark = pytest.mark.django_db

S = BeneficiaryStatus


@pytest.fixture
def enrolled(officer, household_plan, registry) -> list[Beneficiary]:
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    return beneficiaries(household_plan)


def change(officer, approver, plan, rows, transition, reason="checked on site"):
    task = beneficiary_status_request(
        user=officer, plan=plan, transition=transition, reason=reason, ids=[r.pk for r in rows]
    )
    return approve(task, approver)


@pytest.mark.parametrize(
    "path",
    [
        ["activate"],
        ["activate", "suspend"],
        ["activate", "suspend", "reinstate"],
        ["activate", "graduate"],
        ["activate", "exit"],
        ["activate", "suspend", "exit"],
        ["exit"],
    ],
)
def test_each_transition_after_approval(officer, approver, household_plan, enrolled, path):
    row = enrolled[0]
    for transition in path:
        task = beneficiary_status_request(
            user=officer,
            plan=household_plan,
            transition=transition,
            reason=f"why {transition}",
            beneficiary=row,
        )
        row.refresh_from_db()
        before = row.status
        assert task.state == TaskState.PENDING
        task = approve(task, approver)
        assert task.state == TaskState.EXECUTED, task.error
        row.refresh_from_db()
        assert row.status_reason == f"why {transition}"
        last = row.status_changes.first()
        assert (last.from_status, last.to_status, last.task_id, last.requested_by_id) == (
            before,
            row.status,
            task.pk,
            officer.pk,
        )
    expected = {
        ("activate",): S.ACTIVE,
        ("activate", "suspend"): S.SUSPENDED,
        ("activate", "suspend", "reinstate"): S.ACTIVE,
        ("activate", "graduate"): S.GRADUATED,
        ("activate", "exit"): S.EXITED,
        ("activate", "suspend", "exit"): S.EXITED,
        ("exit",): S.EXITED,
    }[tuple(path)]
    assert row.status == expected
    assert Beneficiary.objects.exclude(pk=row.pk).filter(status=S.POTENTIAL).count() == len(enrolled) - 1


@pytest.mark.parametrize(
    ("setup", "transition"),
    [
        ([], "suspend"),
        ([], "reinstate"),
        ([], "graduate"),
        (["activate"], "activate"),
        (["activate"], "reinstate"),
        (["activate", "graduate"], "exit"),
        (["exit"], "activate"),
    ],
)
def test_invalid_transition_refused(officer, approver, household_plan, enrolled, setup, transition):
    row = enrolled[0]
    for step in setup:
        change(officer, approver, household_plan, [row], step)
    row.refresh_from_db()
    before = row.status
    with pytest.raises(ValidationError, match="cannot be"):
        beneficiary_status_request(
            user=officer, plan=household_plan, transition=transition, reason="x", beneficiary=row
        )
    row.refresh_from_db()
    assert row.status == before


def test_unknown_transition_and_missing_reason(officer, household_plan, enrolled):
    with pytest.raises(ValidationError, match="not a status change"):
        beneficiary_status_request(
            user=officer, plan=household_plan, transition="promote", reason="x", ids=[enrolled[0].pk]
        )
    with pytest.raises(ValidationError, match="reason is required"):
        beneficiary_status_request(
            user=officer, plan=household_plan, transition="activate", reason="  ", ids=[enrolled[0].pk]
        )


def test_bulk_change_all_or_nothing(officer, approver, household_plan, enrolled):
    change(officer, approver, household_plan, enrolled[:2], "activate")
    with pytest.raises(ValidationError, match="4 of the 6 selected beneficiaries cannot be suspended"):
        beneficiary_status_request(
            user=officer, plan=household_plan, transition="suspend", reason="x", ids=[r.pk for r in enrolled]
        )
    assert Beneficiary.objects.filter(status=S.SUSPENDED).count() == 0
    task = change(officer, approver, household_plan, enrolled[2:], "activate")
    assert task.result["changed"] == 4
    assert BeneficiaryStatusChange.objects.filter(task=task).count() == 4
    assert Beneficiary.objects.filter(status=S.ACTIVE).count() == 6


def test_status_changed_between_request_and_approval_fails_cleanly(
    officer, approver, household_plan, enrolled
):
    first = beneficiary_status_request(
        user=officer, plan=household_plan, transition="activate", reason="a", beneficiary=enrolled[0]
    )
    bulk = beneficiary_status_request(
        user=officer, plan=household_plan, transition="activate", reason="b", ids=[r.pk for r in enrolled]
    )
    approve(first, approver)
    bulk = approve(bulk, approver)
    assert bulk.state == TaskState.FAILED
    assert "cannot be activated" in bulk.error
    assert Beneficiary.objects.filter(status=S.ACTIVE).count() == 1


def test_checker_sees_how_many_and_which(officer, household_plan, enrolled):
    task = beneficiary_status_request(
        user=officer,
        plan=household_plan,
        transition="exit",
        reason="moved away",
        ids=[r.pk for r in enrolled[:3]],
    )
    description = action_get("programs.beneficiary_status").describe(
        target=household_plan, payload=task.payload
    )
    assert description.count == 3
    assert sorted(description.sample) == sorted(f"{r.household} (potential)" for r in enrolled[:3])
    assert description.changes[0] == ("Status", "Potential or Active or Suspended", "Exited")


def test_closed_plan_refuses_status_changes(officer, household_plan, enrolled):
    household_plan.status = PlanStatus.CLOSED
    household_plan.save()
    with pytest.raises(ValidationError, match="closed"):
        beneficiary_status_request(
            user=officer, plan=household_plan, transition="activate", reason="x", ids=[enrolled[0].pk]
        )


def test_outside_locations_or_other_plan_refused(
    officer, south_officer, household_plan, individual_plan, enrolled, registry
):
    from tests.programs.conftest import grant

    south = grant(south_officer, household_plan)
    with pytest.raises(ValidationError, match="outside your locations"):
        beneficiary_status_request(
            user=south, plan=household_plan, transition="activate", reason="x", ids=[enrolled[0].pk]
        )
    with pytest.raises(ValidationError, match="not in"):
        beneficiary_status_request(
            user=officer, plan=individual_plan, transition="activate", reason="x", ids=[enrolled[0].pk]
        )


def test_view_only_officer_cannot_request(checker, household_plan, enrolled):
    from tests.programs.conftest import grant

    viewer = grant(checker, household_plan, "view_benefitplan")
    with pytest.raises(ValidationError, match="may not manage"):
        beneficiary_status_request(
            user=viewer, plan=household_plan, transition="activate", reason="x", ids=[enrolled[0].pk]
        )


def test_set_based_change_query_count(officer, household_plan, enrolled, django_assert_max_num_queries):
    from programs.services import beneficiary_status_change

    with django_assert_max_num_queries(12):
        result = beneficiary_status_change(
            user=officer, plan=household_plan, transition="activate", reason="x", ids=[r.pk for r in enrolled]
        )
    assert result["changed"] == 6
