"""Requesting: the task records who asked for what; one open task per target; no-approval runs at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from approvals.models import ApprovalLevel, ApprovalPolicy, Task, TaskState
from approvals.services import approval_request, task_cancel
from registry.models import Location
from tests.approvals.actions import PAY, RENAME, executions

pytestmark = pytest.mark.django_db


def test_request_creates_a_pending_task_with_everything_recorded(tree, maker):
    task = approval_request(
        action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker, reason="Typo"
    )
    task = Task.objects.get(pk=task.pk)
    assert task.state == TaskState.PENDING
    assert task.action == RENAME
    assert task.target == tree.north_a
    assert task.target_repr == str(tree.north_a)
    assert task.payload == {"name": "Nord A"}
    assert task.maker == maker
    assert task.reason == "Typo"
    assert task.created_at is not None
    assert task.levels == [
        {"order": 1, "role_id": Group.objects.get(name="Approver").pk, "role": "Approver", "required": 1}
    ]
    assert task.current_level == 1 and task.current_role.name == "Approver"
    assert Location.objects.get(pk=tree.north_a.pk).name == "North A"  # nothing happens before approval
    assert executions == []


def test_second_open_request_for_same_target_and_action_is_refused_naming_the_open_task(tree, maker):
    first = approval_request(action=RENAME, target=tree.north_a, payload={"name": "One"}, maker=maker)
    with pytest.raises(ValidationError) as refused:
        approval_request(action=RENAME, target=tree.north_a, payload={"name": "Two"}, maker=maker)
    assert f"Task #{first.pk}" in refused.value.messages[0]
    assert "already open" in refused.value.messages[0]
    assert Task.objects.count() == 1
    # Another target, or the same target once the first is closed, is fine.
    approval_request(action=RENAME, target=tree.north_b, payload={"name": "Three"}, maker=maker)
    task_cancel(task=first, user=maker)
    approval_request(action=RENAME, target=tree.north_a, payload={"name": "Four"}, maker=maker)
    assert Task.objects.filter(state=TaskState.PENDING).count() == 2


def test_the_database_refuses_a_second_open_task_even_past_the_service(tree, maker):
    from django.db import IntegrityError, transaction

    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "One"}, maker=maker)
    duplicate = Task(action=RENAME, content_type=task.content_type, object_id=task.object_id, maker=maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_policy_without_approval_runs_at_once_and_is_recorded(tree, maker):
    ApprovalPolicy.objects.create(action=RENAME, requires_approval=False)
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Direct"}, maker=maker)
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTED
    assert task.executed_at is not None
    assert task.result == {"renamed": "Direct"}
    assert task.levels == []
    assert Location.objects.get(pk=tree.north_a.pk).name == "Direct"
    assert executions == [task.pk]


def test_action_registered_after_the_migration_gets_a_default_policy_lazily(tree, maker):
    assert not ApprovalPolicy.objects.filter(action=RENAME).exists()
    approval_request(action=RENAME, target=tree.north_a, payload={"name": "X"}, maker=maker)
    policy = ApprovalPolicy.objects.get(action=RENAME)
    assert policy.requires_approval
    assert [(level.order, level.role.name, level.approvers_required) for level in policy.levels.all()] == [
        (1, "Approver", 1)
    ]


def test_data_migration_created_defaults_for_the_known_actions(db):
    known = {
        "registry.update",
        "programs.enrol",
        "programs.beneficiary_status",
        "programs.plan_close",
        "uploads.commit",
        "payments.payroll_approve",
    }
    assert known <= set(ApprovalPolicy.objects.values_list("action", flat=True))
    for level in ApprovalLevel.objects.filter(policy__action__in=known).select_related("role"):
        assert (level.order, level.role.name, level.approvers_required, level.applies_above_amount) == (
            1,
            "Approver",
            1,
            None,
        )


def test_amount_is_computed_and_stored(tree, maker):
    task = approval_request(action=PAY, target=tree.north, payload={"amount": "1500.25"}, maker=maker)
    assert str(Task.objects.get(pk=task.pk).amount) == "1500.25"


@pytest.mark.parametrize(
    ("payload", "message"),
    [(["not", "a", "dict"], "must be a JSON object"), ({"when": object()}, "cannot be stored as JSON")],
)
def test_bad_payload_is_refused_clearly(tree, maker, payload, message):
    with pytest.raises(ValidationError, match=message):
        approval_request(action=RENAME, target=tree.north_a, payload=payload, maker=maker)
    assert not Task.objects.exists()


def test_unknown_action_and_unsaved_target_are_refused(tree, maker):
    with pytest.raises(ValidationError, match="No action named 'nope.nothing'"):
        approval_request(action="nope.nothing", target=tree.north_a, payload={}, maker=maker)
    with pytest.raises(ValidationError, match="must be saved"):
        approval_request(action=RENAME, target=Location(code="X", name="X"), payload={}, maker=maker)
    assert not Task.objects.exists()


def test_maker_cannot_request_on_a_target_outside_their_scope(tree, maker):
    with pytest.raises(ValidationError, match="outside what you can see"):
        approval_request(action=RENAME, target=tree.south, payload={"name": "S"}, maker=maker)
    assert not Task.objects.exists()
