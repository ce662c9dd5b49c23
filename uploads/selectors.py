"""Reads of uploads scoped to the user: batches of the plans they see, a batch's errors and rejected rows."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from programs.selectors import plan_list
from uploads.models import ImportBatch, RowStatus, StagedError, StagedRow
from uploads.parsing import RAW_SEPARATOR

User = AbstractBaseUser | AnonymousUser
CHUNK = 5_000


def batch_list(*, user: User) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(benefit_plan__in=plan_list(user=user).values("pk")).select_related(
        "benefit_plan", "uploaded_by"
    )


def batch_errors(*, batch: ImportBatch, limit: int = 100) -> list[StagedError]:
    """The first errors of the batch, in file order."""
    return list(StagedError.objects.filter(batch_id=batch.pk).order_by("row_number", "pk")[:limit])


def batch_rejected_rows(*, batch: ImportBatch) -> Iterator[list[str]]:
    """The header plus an `errors` column, then each rejected row as it was read with its errors: ready to fix and upload again."""
    header = list(batch.header or [])
    yield [*header, "errors"]
    last = 0
    while True:
        rows = list(
            StagedRow.objects.filter(batch_id=batch.pk, status=RowStatus.ERROR, row_number__gt=last)
            .order_by("row_number")
            .values_list("row_number", "raw")[:CHUNK]
        )
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        messages: dict[int, list[str]] = {}
        for number, column, message in (
            StagedError.objects.filter(batch_id=batch.pk, row_number__gte=first, row_number__lte=last)
            .order_by("row_number", "pk")
            .values_list("row_number", "column", "message")
        ):
            messages.setdefault(number, []).append(f"{column}: {message}" if column else message)
        for number, raw in rows:
            cells = raw.split(RAW_SEPARATOR)
            cells += [""] * (len(header) - len(cells))
            yield [*cells, f"row {number}: " + " | ".join(messages.get(number, []))]


def individual_upload_record(*, individual_id: int) -> str | None:
    """Who brought this person into the registry by upload: the batch, its maker and its approvers, or None.

    A committed batch's new people hold ids from `first_individual_id` to `last_individual_id` (no other
    person's in between), so one range test finds the batch without a column on the (large) individual table.
    """
    batch = (
        ImportBatch.objects.filter(
            state="committed", first_individual_id__lte=individual_id, last_individual_id__gte=individual_id
        )
        .select_related("uploaded_by", "benefit_plan", "task")
        .first()
    )
    if batch is None:
        return None
    approvers = (
        ", ".join(
            sorted({decision.user.get_username() for decision in batch.task.approvals.select_related("user")})
        )
        if batch.task
        else ""
    )
    committed = f"{batch.committed_at:%Y-%m-%d %H:%M}" if batch.committed_at else "—"
    text = (
        f"Upload batch #{batch.pk} ({batch.original_name}, plan {batch.benefit_plan.code}), "
        f"uploaded by {batch.uploaded_by.get_username()}, committed {committed}"
    )
    if batch.task_id:
        text += f" after approval task #{batch.task_id}"
        if approvers:
            text += f" (approved by {approvers})"
    return text + "."
