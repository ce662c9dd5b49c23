"""Signals of the maker-checker: other apps hear that an approved action ran, unknown to approvals."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from approvals.models import Task

# Sent once the transaction that ran a task's executor has committed: `sender` is the Task class,
# `task` the executed task, `action` its action name. Never sent for failed, rejected or cancelled tasks.
task_executed = Signal()


def task_executed_on_commit(task: Task) -> None:
    """Send `task_executed` when the current transaction commits (at once outside one)."""
    action = task.action

    def send() -> None:
        task_executed.send(sender=Task, task=task, action=action)

    transaction.on_commit(send)
