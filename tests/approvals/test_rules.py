"""Rules the services enforce whoever calls them: maker ≠ checker, role, scope, decided tasks stay decided."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import Approval, Decision, Task, TaskState
from approvals.services import (
    approval_decide,
    approval_request,
    task_approve,
    task_cancel,
    task_reject,
    task_retry,
)
from registry.models import Location
from tests.approvals.actions import RENAME, RENAME_CAN_VIEW, executions

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(tree, maker) -> Task:
    return approval_request(action=RENAME, target=tree.north_a, payload={"name": "Changed"}, maker=maker)


def assert_untouched(task: Task) -> None:
    fresh = Task.objects.get(pk=task.pk)
    assert fresh.state == TaskState.PENDING and fresh.current_level == 1
    assert not Approval.objects.filter(task=task).exists()
    assert Location.objects.get(pk=task.object_id).name == "North A"
    assert executions == []


def test_the_maker_never_approves_their_own_task_even_holding_the_role(tree):
    from access.roles import APPROVER, REGISTRY_OFFICER
    from tests.conftest import make_user

    both = make_user("both", roles=(REGISTRY_OFFICER, APPROVER), locations=(tree.north,))
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Self"}, maker=both)
    with pytest.raises(ValidationError, match="its maker cannot approve"):
        task_approve(task=task, user=both)
    with pytest.raises(ValidationError, match="its maker cannot approve or reject"):
        task_reject(task=task, user=both, comment="no")
    assert_untouched(task)


def test_an_approver_needs_the_level_role(task, outsider, south_officer):
    for user in (outsider, south_officer):
        with pytest.raises(ValidationError, match="which you do not hold"):
            task_approve(task=task, user=user)
    assert_untouched(task)


@pytest.mark.parametrize("action", [RENAME, RENAME_CAN_VIEW])
def test_an_approver_must_see_the_target(tree, maker, south_checker, checker, action):
    task = approval_request(action=action, target=tree.north_a, payload={"name": "Scoped"}, maker=maker)
    with pytest.raises(ValidationError, match="outside what you can see"):
        task_approve(task=task, user=south_checker)
    assert_untouched(task)
    assert task_approve(task=task, user=checker).state == TaskState.EXECUTED


def test_superuser_and_administrator_see_everywhere(tree, maker, admin_user):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "By root"}, maker=maker)
    assert task_approve(task=task, user=admin_user).state == TaskState.EXECUTED


def test_reject_needs_a_comment_and_closes_the_task(task, checker):
    with pytest.raises(ValidationError, match="comment is required"):
        task_reject(task=task, user=checker, comment="   ")
    assert_untouched(task)
    task = task_reject(task=task, user=checker, comment="Wrong spelling")
    assert task.state == TaskState.REJECTED and task.decided_at is not None
    assert Approval.objects.get(task=task).comment == "Wrong spelling"
    assert Location.objects.get(pk=task.object_id).name == "North A"


def test_unknown_decision_is_refused(task, checker):
    with pytest.raises(ValidationError, match="Decision 'maybe' is unknown"):
        approval_decide(task=task, user=checker, decision="maybe")
    assert_untouched(task)


@pytest.mark.parametrize("how", ["executed", "rejected", "cancelled"])
def test_a_decided_or_cancelled_task_cannot_be_approved_again(task, maker, checker, checker2, how):
    if how == "executed":
        task_approve(task=task, user=checker)
    elif how == "rejected":
        task_reject(task=task, user=checker, comment="No")
    else:
        task_cancel(task=task, user=maker)
    state_before = Task.objects.get(pk=task.pk).state
    decisions_before = Approval.objects.filter(task=task).count()
    for decision in ("approve", "reject"):
        with pytest.raises(ValidationError, match=f"Task #{task.pk} is already {state_before}"):
            approval_decide(task=task, user=checker2, decision=decision, comment="late")
    assert Task.objects.get(pk=task.pk).state == state_before
    assert Approval.objects.filter(task=task).count() == decisions_before
    assert len(executions) == (1 if how == "executed" else 0)


def test_only_the_maker_cancels_and_only_while_pending_or_failed(task, maker, checker):
    with pytest.raises(ValidationError, match="Only the maker"):
        task_cancel(task=task, user=checker)
    assert_untouched(task)
    task = task_cancel(task=task, user=maker)
    assert task.state == TaskState.CANCELLED
    assert Approval.objects.get(task=task).decision == Decision.CANCEL
    with pytest.raises(ValidationError, match="can no longer be cancelled"):
        task_cancel(task=task, user=maker)


def test_state_cannot_be_assigned_directly(task):
    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        task.state = TaskState.EXECUTED


def test_retry_is_for_failed_tasks_by_an_approver(task, maker, checker):
    with pytest.raises(ValidationError, match="only a failed task can be retried"):
        task_retry(task=task, user=checker)
    assert_untouched(task)


def test_selectors_scope_waiting_tasks_by_visibility_in_sql_and_per_object(
    tree, maker, checker, south_checker, admin_user
):
    from access.roles import APPROVER, REGISTRY_OFFICER
    from approvals.selectors import task_list, tasks_awaiting
    from tests.conftest import make_user

    south_maker = make_user("south_maker", roles=(REGISTRY_OFFICER,), locations=(tree.south,))
    north_sql = approval_request(action=RENAME, target=tree.north_a, payload={"name": "1"}, maker=maker)
    north_obj = approval_request(
        action=RENAME_CAN_VIEW, target=tree.north_b, payload={"name": "2"}, maker=maker
    )
    south_sql = approval_request(action=RENAME, target=tree.south, payload={"name": "3"}, maker=south_maker)
    south_obj = approval_request(
        action=RENAME_CAN_VIEW, target=tree.south, payload={"name": "4"}, maker=south_maker
    )

    assert set(tasks_awaiting(checker)) == {north_sql, north_obj}
    assert set(tasks_awaiting(south_checker)) == {south_sql, south_obj}
    assert set(tasks_awaiting(admin_user)) == {north_sql, north_obj, south_sql, south_obj}
    assert set(tasks_awaiting(maker)) == set()  # a maker's own tasks never wait for them
    # The list of all tasks scopes `visible` actions in SQL; per-object ones are checked on the task page.
    assert {north_sql, north_obj} <= set(task_list(user=checker))
    assert south_sql not in set(task_list(user=checker))
    both = make_user("both_regions", roles=(APPROVER,), locations=(tree.north, tree.south))
    assert set(tasks_awaiting(both)) == {north_sql, north_obj, south_sql, south_obj}


def test_an_action_with_targets_of_several_models_is_scoped_per_model(tree, maker, checker, admin_user):
    from django.contrib.auth.models import Group

    from approvals.actions import action_register, action_unregister
    from approvals.selectors import task_list, tasks_awaiting
    from tests.approvals.actions import rename_execute, visible_locations

    def visible(user):  # type: ignore[no-untyped-def]
        return [visible_locations(user), Group.objects.all() if user.is_superuser else Group.objects.none()]

    action_register("tests.mixed", label="Mixed", executor=rename_execute, visible=visible)
    try:
        on_location = approval_request(
            action="tests.mixed", target=tree.north_a, payload={"name": "M"}, maker=admin_user
        )
        on_group = approval_request(
            action="tests.mixed",
            target=Group.objects.get(name="Auditor"),
            payload={"name": "G"},
            maker=admin_user,
        )
        assert set(tasks_awaiting(checker)) == {on_location}
        assert on_group not in set(task_list(user=checker))
        with pytest.raises(ValidationError, match="outside what you can see"):
            task_approve(task=on_group, user=checker)
        assert task_approve(task=on_location, user=checker).state == TaskState.EXECUTED
    finally:
        action_unregister("tests.mixed")
