"""Reads of uploads scoped to the user: batches of the plans and areas they see, a batch's errors, its
rejected and skipped rows, and the changes an update-mode batch would make."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from access.records import records_in_scope
from access.scope import user_location_paths, user_sees_everywhere
from registry.models import Location
from registry.selectors import location_list
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import ImportBatch, RowStatus, StagedError, StagedRow
from uploads.parsing import RAW_SEPARATOR, REJECTED_ERRORS_COLUMN, REJECTED_OUTCOME_COLUMN

User = AbstractBaseUser | AnonymousUser
CHUNK = 5_000


def uploader_areas(*, user: User) -> QuerySet[Location]:
    """The area a user's upload is validated in: their profile's locations, or every root for those who see
    everywhere (their rows may lie anywhere)."""
    if user_sees_everywhere(user):
        return Location.objects.filter(parent__isnull=True)
    return Location.objects.filter(path__in=user_location_paths(user))


def batch_list(*, user: User) -> QuerySet[ImportBatch]:
    """Batches of the plans the user sees whose whole area (the uploader's locations) the user sees too; an
    uploader always sees their own. A batch without a recorded area is seen by those who see everywhere."""
    batches = records_in_scope(ImportBatch.objects.all(), user=user, location=None, plan="benefit_plan")
    if user.is_authenticated and not user_sees_everywhere(user):
        areas = ImportBatch.areas.through.objects.filter(importbatch_id=OuterRef("pk"))
        outside = areas.exclude(location_id__in=location_list(user=user).values("pk"))
        batches = batches.filter(Q(uploaded_by=user) | (Exists(areas) & ~Exists(outside)))
    return batches.select_related("benefit_plan", "uploaded_by")


def user_can_view_batch(user: User, batch: ImportBatch) -> bool:
    return batch_list(user=user).filter(pk=batch.pk).exists()


def batch_errors(*, batch: ImportBatch, limit: int = 100) -> list[StagedError]:
    """The first errors of the batch, in file order."""
    return list(StagedError.objects.filter(batch_id=batch.pk).order_by("row_number", "pk")[:limit])


def skip_reason(
    *, match_kind: str, match_individual_id: int | None, duplicate_of_row: int | None, cells: dict[str, str]
) -> str:
    """Why a row was skipped as a duplicate, naming the registry record it matched only when it lies in the
    uploader's area (the check marked the others `outside:<column>`)."""
    from uploads.checks import OUTSIDE, outside_registered_message

    if match_kind.startswith(OUTSIDE):
        column = match_kind[len(OUTSIDE) :]
        return f"{column}: " + outside_registered_message().format(number=cells.get(column, ""))
    if duplicate_of_row is not None:
        same = {
            "file:name": _("same name, birth date and location"),
            "file:match": _("same person in the registry"),
        }.get(match_kind) or _("same %(column)s") % {"column": match_kind.removeprefix("file:")}
        return _("Duplicate of row %(row)s of this file (%(same)s).") % {
            "row": duplicate_of_row,
            "same": same,
        }
    if match_kind == "document":
        return _("Already in the registry as individual #%(id)s (same identity document).") % {
            "id": match_individual_id
        }
    return _(
        "Possibly already in the registry as individual #%(id)s (same name, birth date and location)."
    ) % {"id": match_individual_id}


def batch_rejected_rows(*, batch: ImportBatch) -> Iterator[list[str]]:
    """The header plus an `outcome` and an `errors` column, then, in file order, each rejected row as it was
    read with its errors (ready to fix and upload again) and each row skipped as a duplicate with the reason
    and the record it matched. Read in chunks of row numbers: memory stays flat whatever the batch's size."""
    header = list(batch.header or [])
    yield [*header, REJECTED_OUTCOME_COLUMN, REJECTED_ERRORS_COLUMN]
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    rejected, skipped = _("rejected"), _("skipped")
    last = 0
    while True:
        rows = list(
            StagedRow.objects.filter(
                batch_id=batch.pk, status__in=[RowStatus.ERROR, RowStatus.SKIP], row_number__gt=last
            )
            .order_by("row_number")
            .values_list(
                "row_number", "status", "raw", "match_kind", "match_individual_id", "duplicate_of_row"
            )[:CHUNK]
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
        for number, status, raw, match_kind, match_id, duplicate_of in rows:
            cells = raw.split(RAW_SEPARATOR)
            cells += [""] * (len(header) - len(cells))
            if status == RowStatus.ERROR:
                yield [*cells, rejected, f"row {number}: " + " | ".join(messages.get(number, []))]
            else:
                reason = skip_reason(
                    match_kind=match_kind,
                    match_individual_id=match_id,
                    duplicate_of_row=duplicate_of,
                    cells=dict(zip(names, cells, strict=False)),
                )
                yield [*cells, skipped, f"row {number}: " + _("skipped: %(reason)s") % {"reason": reason}]


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


UPDATE_SAMPLE = 20
# The registry fields an update-mode row sets, as the commit's UPDATE sets them (uploads/commit.py):
# (label, staging column, registry column, whether an empty file cell keeps the registry value).
UPDATED_FIELDS = (
    ("given_name", "given_name", "given_name", False),
    ("family_name", "family_name", "family_name", False),
    ("other_names", "other_names", "other_names", True),
    ("sex", "sex", "sex", False),
    ("birth_date", "birth_date", "birth_date", True),
    ("birth_date_estimated", "birth_date_estimated", "birth_date_estimated", False),
    ("phone", "phone", "phone", True),
)


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        loaded = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _shown(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def batch_update_changes(*, batch: ImportBatch, limit: int = UPDATE_SAMPLE) -> list[tuple[str, Any, Any]]:
    """For the first `limit` rows that update an existing person: each field the commit would change, as
    (label, registry value, file value). One query: the rows joined to their people, locations and the
    documents of the types the file carries (an update adds a document of a type the person lacks)."""
    from uploads.checks import DOCUMENT, INDIVIDUAL, LOCATION, S

    documents = [
        column
        for column in DOCUMENT_COLUMNS
        if column in {cell.strip().lstrip("\ufeff").lower() for cell in batch.header or []}
    ]
    fields = ", ".join(f"s.{staged}, i.{registry}" for _label, staged, registry, _keep in UPDATED_FIELDS)
    # A scalar per type: a person may hold two documents of one type, and the row must stay one row.
    document_fields = "".join(
        f", s.{column}, (SELECT MIN(d.value) FROM {DOCUMENT} d WHERE d.individual_id = i.id "
        f"AND d.doc_type = '{column}')"
        for column in documents
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.row_number, i.id, {fields}, s.location_id, s.location_code, i.location_id, l.code, "
            f"s.ind_data, i.data{document_fields} "
            f"FROM {S} s JOIN {INDIVIDUAL} i ON i.id = s.match_individual_id "
            f"LEFT JOIN {LOCATION} l ON l.id = i.location_id "
            f"WHERE s.batch_id = %s AND s.status = %s ORDER BY s.row_number LIMIT %s",
            [batch.pk, RowStatus.UPDATE, limit],
        )
        rows = cursor.fetchall()
    changes: list[tuple[str, Any, Any]] = []
    for row in rows:
        number, person, values = row[0], row[1], list(row[2:])

        def label(field: str, number: int = number, person: int = person) -> str:
            return _("Row %(row)s, individual #%(id)s: %(field)s") % {
                "row": number,
                "id": person,
                "field": field,
            }

        for name, _staged, _registry, keep in UPDATED_FIELDS:
            after, before = values.pop(0), values.pop(0)
            if name == "birth_date_estimated":
                after, before = bool(after), bool(before)
            if keep and (after is None or after == ""):
                continue
            if _shown(after) != _shown(before):
                changes.append((label(name), _shown(before), _shown(after)))
        location_after, code_after, location_before, code_before = values[:4]
        if location_after != location_before:
            changes.append((label("location_code"), code_before, code_after))
        file_data, registry_data = _json_object(values[4]), _json_object(values[5])
        for key, value in file_data.items():
            if registry_data.get(key) != value:
                changes.append((label(f"ind.{key}"), _shown(registry_data.get(key)), _shown(value)))
        held = values[6:]
        for position, column in enumerate(documents):
            after, before = held[2 * position], held[2 * position + 1]
            if after and before is None:
                changes.append((label(column), None, after))
    return changes
