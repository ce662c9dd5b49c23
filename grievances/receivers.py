"""What the grievance module hears from the apps below: a resolution's approval task ending."""

from __future__ import annotations

from typing import Any


def _task_ended(sender: Any, task: Any, action: str, outcome: str, **kwargs: Any) -> None:
    from grievances.resolutions import resolution_task_ended

    resolution_task_ended(task=task, outcome=outcome)


def connect() -> None:
    from approvals.signals import task_ended

    task_ended.connect(_task_ended, dispatch_uid="grievances.resolution_task_ended")
