"""Fixtures of the approvals tests: the test actions, and the ways to run background jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User

from access.roles import APPROVER, AUDITOR, PAYMENT_OFFICER
from approvals.models import ApprovalLevel, ApprovalPolicy
from tests.approvals import actions
from tests.conftest import Tree, make_user


@pytest.fixture(autouse=True)
def test_actions() -> Iterator[None]:
    actions.register_test_actions()
    actions.executions.clear()
    yield
    actions.unregister_test_actions()


@pytest.fixture
def immediate_jobs(settings):  # type: ignore[no-untyped-def]
    """Background jobs run in-process when their transaction commits."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }


@pytest.fixture
def checker2(tree: Tree) -> User:
    """A second approver in the North."""
    return make_user("checker2", roles=(APPROVER,), locations=(tree.north,))


@pytest.fixture
def supervisor(tree: Tree) -> User:
    """A payment officer in the North who also approves (the second level of big payments)."""
    return make_user("supervisor", roles=(APPROVER, PAYMENT_OFFICER), locations=(tree.north,))


@pytest.fixture
def south_checker(tree: Tree) -> User:
    return make_user("south_checker", roles=(APPROVER,), locations=(tree.south,))


@pytest.fixture
def outsider(tree: Tree) -> User:
    """Sees the North but holds no approving role."""
    return make_user("outsider", roles=(AUDITOR,), locations=(tree.north,))


def policy_set(
    action: str, *levels: tuple[str, int, str | None], requires_approval: bool = True
) -> ApprovalPolicy:
    """(role, approvers_required, applies_above_amount) per level, in order."""
    policy, _ = ApprovalPolicy.objects.update_or_create(
        action=action, defaults={"requires_approval": requires_approval}
    )
    policy.levels.all().delete()
    for order, (role, required, above) in enumerate(levels, start=1):
        ApprovalLevel.objects.create(
            policy=policy,
            order=order,
            role=Group.objects.get(name=role),
            approvers_required=required,
            applies_above_amount=above,
        )
    return policy
