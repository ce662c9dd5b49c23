"""The uploads' approvable action: commit a validated batch."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from approvals.actions import Description, action_register
from approvals.models import Task
from uploads.models import ImportBatch, RowStatus, StagedRow
from uploads.selectors import UPDATE_SAMPLE, batch_list, batch_update_changes, user_can_view_batch
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
    if target.update_rows:
        # What the updates change, field by field, for the first rows: the checker sees more than a count.
        summary += " " + _(
            "Below the counts: each field the first %(sample)s updates change, registry value before, "
            "file value after."
        ) % {"sample": min(UPDATE_SAMPLE, target.update_rows)}
        changes += batch_update_changes(batch=target)
    return Description(changes=changes, count=target.committable_rows, sample=sample, summary=summary)


def _can_view(user: Any, target: Any) -> bool:
    return isinstance(target, ImportBatch) and user_can_view_batch(user, target)


def register() -> None:
    action_register(
        ACTION,
        label="Commit an upload",
        executor=commit_execute,
        describer=commit_describe,
        can_view=_can_view,
        # Batches are few: the approvals lists filter them in SQL instead of checking task by task. The same
        # scope as the batch pages: plan and area.
        visible=lambda user: batch_list(user=user),
        background=True,
    )
