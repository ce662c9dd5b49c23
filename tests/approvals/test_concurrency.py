"""Two approvers clicking at the same moment: the executor runs once (row lock; one writer on SQLite)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, connections

from approvals.models import Approval, Decision, Task, TaskState
from approvals.services import approval_request, task_approve
from registry.models import Location
from tests.approvals.actions import RENAME, executions

pytestmark = pytest.mark.django_db(transaction=True)


def approve_at_once(task: Task, users: list) -> list[object]:
    """Each user approves from their own thread, hence their own database connection, released together."""
    barrier = threading.Barrier(len(users))
    outcomes: list[object] = [None] * len(users)

    def run(index: int, user) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=10)
            outcomes[index] = task_approve(task=Task(pk=task.pk), user=user)
        except (ValidationError, OperationalError) as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, user)) for i, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_approvers_at_once_execute_the_action_once(tree, maker, checker, checker2):
    Location.objects.filter(pk=tree.north_a.pk).update(latitude=0)
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Once"}, maker=maker)

    outcomes = approve_at_once(task, [checker, checker2])

    executed = [o for o in outcomes if isinstance(o, Task)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(executed) == 1 and len(refused) == 1, outcomes
    assert executed[0].state == TaskState.EXECUTED
    if connection.vendor == "postgresql":
        # The loser waited on the row lock, then found the task decided.
        assert isinstance(refused[0], ValidationError)
        assert "is already executed" in refused[0].messages[0]
    else:
        # SQLite has one writer: the loser is told the task is decided, or that the database was busy.
        assert isinstance(refused[0], ValidationError | OperationalError)
        if isinstance(refused[0], ValidationError):
            assert "is already executed" in refused[0].messages[0]
    assert executions == [task.pk]
    location = Location.objects.get(pk=tree.north_a.pk)
    assert (location.name, location.latitude) == ("Once", 1)
    assert Approval.objects.filter(task=task, decision=Decision.APPROVE).count() == 1
    assert Task.objects.get(pk=task.pk).state == TaskState.EXECUTED
