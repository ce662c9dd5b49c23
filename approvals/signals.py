"""Signals of the maker-checker: the apps that own a task's target hear how the task ended, unknown to approvals.

Approvals knows no payroll, upload or plan: it sends `task_ended` and the owning app updates its own records in a
receiver (connected in its `AppConfig.ready()`). No page looks a task up to bring its target in line when viewed.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from approvals.models import Task, TaskState

# Sent once the transaction that ran a task's executor has committed: `sender` is the Task class,
# `task` the executed task, `action` its action name. Never sent for failed, rejected or cancelled tasks.
task_executed = Signal()

# Sent once the transaction that ended a task has committed, for every end: `sender` is the Task class,
# `task` the task (state EXECUTED, REJECTED, CANCELLED or FAILED), `action` its action name and `outcome`
# its final state (one of ENDED_STATES). A FAILED task may be retried later; it then ends again.
task_ended = Signal()

ENDED_STATES = (TaskState.EXECUTED, TaskState.REJECTED, TaskState.CANCELLED, TaskState.FAILED)


def task_executed_on_commit(task: Task) -> None:
    """Send `task_executed` when the current transaction commits (at once outside one)."""
    action = task.action

    def send() -> None:
        task_executed.send(sender=Task, task=task, action=action)

    transaction.on_commit(send)


def task_ended_on_commit(task: Task) -> None:
    """Send `task_ended` when the current transaction commits (at once outside one)."""
    action, outcome = task.action, task.state

    def send() -> None:
        task_ended.send(sender=Task, task=task, action=action, outcome=outcome)

    transaction.on_commit(send)
