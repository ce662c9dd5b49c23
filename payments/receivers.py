"""How payments hear that an approval task ended (approvals.signals.task_ended, sent after the commit).

Only the payroll's approval needs it: a payroll waits in "awaiting approval" until its task ends, so a task
rejected, cancelled or failed makes it rejected (an executed one approved it already, in the executor). A
release of held lines changes nothing before it runs, so its end needs nothing either. No page view does it.
"""

from __future__ import annotations

from typing import Any

from approvals.models import Task
from approvals.signals import task_ended
from payments.services import APPROVE_ACTION, payroll_approval_undone


def payroll_approval_ended(sender: Any, *, task: Task, action: str, outcome: str, **kwargs: Any) -> None:
    if action == APPROVE_ACTION:
        payroll_approval_undone(task=task, outcome=outcome)


def connect() -> None:
    task_ended.connect(payroll_approval_ended, sender=Task, dispatch_uid="payments.payroll_approval_ended")
