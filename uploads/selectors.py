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
