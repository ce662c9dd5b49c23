"""An upload follows the end of its commit task: approvals send `task_ended`, the batch follows here.

Connected in `UploadsConfig.ready()`. Nothing looks a task up when a batch page is viewed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from approvals.models import Task, TaskState
from uploads.models import BatchState, ImportBatch
from uploads.services import ACTION


def batch_after_commit_task(sender: Any, *, task: Task, action: str, outcome: str, **kwargs: Any) -> None:
    """Rejected, or cancelled while pending: the batch is validated again and may be committed later.
    Cancelled after its commit failed: the batch is failed with the reason, to be validated again.

    A failed task leaves its batch awaiting approval: an approver may retry it (a worker that died), or its
    maker cancel it. An executed one was committed by the executor itself. Idempotent: only a batch still
    awaiting this very task moves, under a row lock.
    """
    if action != ACTION or outcome not in (TaskState.REJECTED, TaskState.CANCELLED) or not task.object_id:
        return
    with transaction.atomic():
        batch = (
            ImportBatch.objects.select_for_update()
            .filter(pk=task.object_id, task_id=task.pk, state=BatchState.AWAITING_APPROVAL)
            .first()
        )
        if batch is None:
            return
        if outcome == TaskState.CANCELLED and task.error:
            batch.fail(
                error=_("The commit failed and nothing was stored: %(error)s Validate the upload again.")
                % {"error": task.error}
            )
        else:
            batch.withdraw()
        batch.save()
