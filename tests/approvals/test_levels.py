"""Policies: ordered levels, each by a role and a number of distinct approvers; thresholds add levels."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from access.roles import APPROVER, PAYMENT_OFFICER
from approvals.models import Approval, TaskState
from approvals.services import approval_request, task_approve
from registry.models import Location
from tests.approvals.actions import PAY, RENAME, executions
from tests.approvals.conftest import policy_set
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_two_levels_run_in_order_and_the_action_waits_for_the_last(tree, maker, checker, supervisor):
    policy_set(RENAME, (APPROVER, 1, None), (PAYMENT_OFFICER, 1, None))
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Twice"}, maker=maker)

    payer = make_user("payer", roles=(PAYMENT_OFFICER,), locations=(tree.north,))
    with pytest.raises(ValidationError, match="role “Approver”"):
        task_approve(task=task, user=payer)  # level 2's role does not approve level 1
    task = task_approve(task=task, user=checker)
    assert (
        task.state == TaskState.PENDING
        and task.current_level == 2
        and task.current_role.name == PAYMENT_OFFICER
    )
    assert Location.objects.get(pk=tree.north_a.pk).name == "North A"

    with pytest.raises(ValidationError, match="role “Payment officer”"):
        task_approve(task=task, user=checker)  # already used, and lacks the role anyway
    task = task_approve(task=task, user=supervisor)
    assert task.state == TaskState.EXECUTED
    assert Location.objects.get(pk=tree.north_a.pk).name == "Twice"
    assert list(Approval.objects.filter(task=task).values_list("user__username", "level")) == [
        ("checker", 1),
        ("supervisor", 2),
    ]


def test_a_level_needing_two_approvers_needs_two_distinct_people(tree, maker, checker, checker2):
    policy_set(RENAME, (APPROVER, 2, None))
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Two people"}, maker=maker)
    task = task_approve(task=task, user=checker)
    assert task.state == TaskState.PENDING and task.current_level == 1
    with pytest.raises(ValidationError, match="You already approved level 1"):
        task_approve(task=task, user=checker)
    assert executions == []
    task = task_approve(task=task, user=checker2)
    assert task.state == TaskState.EXECUTED
    assert executions == [task.pk]


def test_the_same_person_cannot_fill_two_levels(tree, maker, supervisor, checker):
    policy_set(RENAME, (APPROVER, 1, None), (APPROVER, 1, None))
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "L"}, maker=maker)
    task = task_approve(task=task, user=supervisor)
    with pytest.raises(ValidationError, match="level 2 needs another person"):
        task_approve(task=task, user=supervisor)
    assert task.current_level == 2
    assert task_approve(task=task, user=checker).state == TaskState.EXECUTED


@pytest.mark.parametrize(("amount", "levels"), [("999.99", 1), ("1000.00", 1), ("1000.01", 2)])
def test_amount_above_the_threshold_adds_levels(tree, maker, amount, levels):
    policy_set(PAY, (APPROVER, 1, None), (PAYMENT_OFFICER, 1, "1000.00"))
    task = approval_request(action=PAY, target=tree.north, payload={"amount": amount}, maker=maker)
    assert len(task.levels) == levels
    assert [level["role"] for level in task.levels] == [APPROVER, PAYMENT_OFFICER][:levels]


def test_policy_changes_do_not_move_the_goalposts_of_open_tasks(tree, maker, checker):
    policy_set(RENAME, (APPROVER, 1, None))
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Before"}, maker=maker)
    policy_set(RENAME, (APPROVER, 1, None), (PAYMENT_OFFICER, 3, None))
    assert task_approve(task=task, user=checker).state == TaskState.EXECUTED
