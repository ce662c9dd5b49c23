"""The uploads' approvable action: commit a validated batch."""

from __future__ import annotations

from typing import Any

from approvals.actions import Description, action_register
from approvals.models import Task
from programs.selectors import plan_list, user_can_view_plan
from uploads.models import ImportBatch, RowStatus, StagedRow
from uploads.services import ACTION, batch_commit_execute

SAMPLE_SIZE = 10


def commit_execute(
    *, target: ImportBatch, payload: dict[str, Any], task: Task, progress: Any = None, **kwargs: Any
) -> dict[str, Any]:
    return batch_commit_execute(batch=target, task=task, progress=progress)


def commit_describe(*, target: ImportBatch, payload: dict[str, Any]) -> Description:
    rows = (
        StagedRow.objects.filter(batch_id=target.pk, status__in=[RowStatus.NEW, RowStatus.UPDATE])
        .order_by("row_number")
        .values_list(
            "row_number",
            "status",
            "given_name",
            "family_name",
            "birth_date",
            "location_code",
            "household_code",
        )[:SAMPLE_SIZE]
    )
    sample = [
        f"Row {number}: {given} {family}, born {birth or 'unknown'}, {location}"
        + (f", household {household}" if household else "")
        + (" (updates an existing person)" if status == RowStatus.UPDATE else "")
        for number, status, given, family, birth, location, household in rows
    ]
    summary = (
        f"Commit {target.original_name} into {target.benefit_plan}: {target.new_rows:,} new individuals, "
        f"{target.new_households:,} new households, {target.update_rows:,} updates, "
        f"{target.skipped_rows:,} duplicates skipped; {target.error_rows:,} rows with errors are not committed."
    )
    changes = [
        ("New individuals", None, target.new_rows),
        ("New households", None, target.new_households),
        ("Updates of existing people", None, target.update_rows),
        ("Duplicates skipped", None, target.skipped_rows),
        ("Rows with errors (not committed)", None, target.error_rows),
    ]
    return Description(changes=changes, count=target.committable_rows, sample=sample, summary=summary)


def _can_view(user: Any, target: Any) -> bool:
    return isinstance(target, ImportBatch) and user_can_view_plan(user, target.benefit_plan)


def register() -> None:
    action_register(
        ACTION,
        label="Commit an upload",
        executor=commit_execute,
        describer=commit_describe,
        can_view=_can_view,
        # Batches are few: the approvals lists filter them in SQL instead of checking task by task.
        visible=lambda user: ImportBatch.objects.filter(benefit_plan__in=plan_list(user=user)),
        background=True,
    )
