"""Signals of the maker-checker: the apps that own a task's target hear how the task ended.

Approvals knows no payroll, upload or plan: it sends `task_ended` and the owning app updates its own
records in a receiver (connected in its `AppConfig.ready()`). No page looks a task up to bring its
target in line when viewed. Receivers run after the commit; one that fails is logged, the others run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from approvals.models import Task, TaskState

logger = logging.getLogger(__name__)

# Sent once the transaction that ran a task's executor has committed: `sender` is the Task class,
# `task` the executed task, `action` its action name. Never sent for failed, rejected or cancelled tasks.
task_executed = Signal()

# Sent once the transaction that ended a task has committed, for every end: `sender` is the Task class,
# `task` the task (state EXECUTED, REJECTED, CANCELLED or FAILED), `action` its action name and `outcome`
# its final state (one of ENDED_STATES). A FAILED task may be retried later; it then ends again.
task_ended = Signal()

ENDED_STATES = (TaskState.EXECUTED, TaskState.REJECTED, TaskState.CANCELLED, TaskState.FAILED)


def _send_robust(signal: Signal, task: Task, **kwargs: Any) -> None:
    """Every receiver runs; one that fails is logged. The task's end is committed: a receiver's error must
    neither hide it from the others nor turn the committed decision (or job) into an error."""
    for receiver, error in signal.send_robust(sender=Task, task=task, **kwargs):
        if isinstance(error, Exception):
            logger.error(
                "Receiver %r of %s failed for task #%s",
                receiver,
                kwargs,
                task.pk,
                exc_info=(type(error), error, error.__traceback__),
            )


def task_executed_on_commit(task: Task) -> None:
    """Send `task_executed` when the current transaction commits (at once outside one)."""
    action = task.action
    transaction.on_commit(lambda: _send_robust(task_executed, task, action=action))


def task_ended_on_commit(task: Task) -> None:
    """Send `task_ended` when the current transaction commits (at once outside one)."""
    action, outcome = task.action, task.state
    transaction.on_commit(lambda: _send_robust(task_ended, task, action=action, outcome=outcome))
