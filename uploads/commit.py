"""The commit of a validated batch: its staged rows handed to the registry's and the programmes' bulk
writes (`registry.bulk`, `programs.bulk`) as source relations over the staging table, inside the caller's
transaction.

The uploads app maps its staging columns onto the registry's column contract here and words the refusals
for its users; how the rows are written (one statement per table, reserved id blocks, deferred FK checks at
the end, locks) is the registry's and the programmes' business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from programs import bulk as programs_bulk
from programs.models import BeneficiaryStatus, BenefitPlan
from registry import bulk as registry_bulk
from registry.bulk import BulkRefused, Source
from registry.matching import households_of
from uploads.checks import S
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import RowStatus

Step = Callable[[str], None]
AGAIN = "Nothing was stored: validate the upload again."


PERSON = (
    "given_name, family_name, other_names, sex, birth_date, birth_date_estimated, phone, location_id, "
    "ind_data AS data"
)
# The registry's column contracts (registry/bulk.py) over the staging table's columns, by row status.
CONTRACTS = {
    RowStatus.NEW: "row_number, household_code AS household_key, existing_household_id AS household_id, "
    f"household_role AS role, primary_recipient AS is_primary_recipient, {PERSON}, hh_data AS household_data",
    RowStatus.UPDATE: f"row_number, match_individual_id AS individual_id, {PERSON}",
}


def staged_people(batch_id: int, status: str, documents: list[str]) -> Source:
    """The batch's new rows (contract of `people_create`) or updating rows (`people_update`)."""
    columns = CONTRACTS[status] + "".join(f", {column}" for column in documents)
    return Source(f"SELECT {columns} FROM {S} WHERE batch_id = %s AND status = '{status}'", [batch_id])


def _enrolment_source(*, batch_id: int, plan: BenefitPlan, id_offset: int) -> Source:
    """What the batch enrols, in the programmes' contract: its new and updated people (their ids: the new
    row r is individual r + id_offset), or the households they form, join or belong to."""
    if not plan.is_household:
        return Source(
            f"SELECT row_number + %s AS individual_id, location_id, plan_data AS data FROM {S} "
            f"WHERE batch_id = %s AND status = '{RowStatus.NEW}' "
            f"UNION ALL SELECT match_individual_id, location_id, plan_data FROM {S} "
            f"WHERE batch_id = %s AND status = '{RowStatus.UPDATE}'",
            [id_offset, batch_id, batch_id],
        )
    return households_of(
        Source(
            f"SELECT household_code AS household_key, NULL AS individual_id, "
            f"CASE WHEN household_role = 'head' THEN plan_data END AS data FROM {S} "
            f"WHERE batch_id = %s AND status = '{RowStatus.NEW}' "
            f"UNION ALL SELECT '', match_individual_id, NULL FROM {S} "
            f"WHERE batch_id = %s AND status = '{RowStatus.UPDATE}'",
            [batch_id, batch_id],
        )
    )


def _refusal_message(refusal: BulkRefused, batch_id: int) -> str:
    """A refusal of the registry's bulk write, in the upload's words: what vanished since the validation."""
    if refusal.reason == "locations_gone":
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(refusal.rows)) or "NULL"
            cursor.execute(
                f"SELECT row_number, location_code FROM {S} WHERE batch_id = %s AND row_number IN ({marks}) "
                "ORDER BY row_number",
                [batch_id, *refusal.rows],
            )
            rows = cursor.fetchall()
        where = ", ".join(
            _("row %(row)s (location_code %(code)s)") % {"row": row, "code": code} for row, code in rows
        )
        return _(
            "%(count)s of the locations this upload names were deleted from the registry since it was "
            "validated: %(rows)s. Nothing was stored: validate the upload again."
        ) % {"count": refusal.count, "rows": where}
    if refusal.reason == "people_gone":
        return (
            f"{refusal.count:,} of the people this upload updates were deleted from the registry since it "
            f"was validated. {AGAIN}"
        )
    if refusal.reason == "households_gone":
        return (
            f"{refusal.count:,} people of this upload join households that were deleted from the registry "
            f"since it was validated. {AGAIN}"
        )
    return f"The registry changed since this upload was validated: {refusal.messages[0]} {AGAIN}"


def batch_rows_commit(
    *,
    batch_id: int,
    plan: BenefitPlan,
    task_id: int | None,
    step: Step,
    new_rows: int,
    update_rows: int,
    documents: list[str],
    maker_id: int | None = None,
) -> dict[str, Any]:
    """Write every committable row of the batch; the caller's transaction makes it all or nothing."""
    documents = [column for column in documents if column in DOCUMENT_COLUMNS]
    create = staged_people(batch_id, RowStatus.NEW, documents)
    update = staged_people(batch_id, RowStatus.UPDATE, documents)
    task = f", approved in task #{task_id}" if task_id else ""
    try:
        registry_bulk.locations_lock(create, update)
        step("Updating existing individuals")
        # Before the new people exist: on SQLite a new person may take the id of one deleted since validation.
        updated = registry_bulk.people_update(
            source=update,
            documents=documents,
            expected=update_rows,
            reason_before=f"As it was before upload batch #{batch_id}",
            reason_after=f"Updated by upload batch #{batch_id}{task}",
            user_id=maker_id,
        )
        created = registry_bulk.people_create(
            source=create, documents=documents, expected=new_rows, step=step
        )
    except BulkRefused as refusal:
        raise ValidationError(_refusal_message(refusal, batch_id)) from None
    step("Enrolling beneficiaries")
    beneficiaries = programs_bulk.beneficiaries_enrol(
        plan=plan,
        source=_enrolment_source(batch_id=batch_id, plan=plan, id_offset=created.id_offset),
        status=BeneficiaryStatus.POTENTIAL,
        reason="",
        at=timezone.now(),
        task_id=task_id,
    )
    registry_bulk.foreign_keys_check((*registry_bulk.WRITTEN_TABLES, *programs_bulk.WRITTEN_TABLES))
    return {
        "households": created.households,
        "updated": updated["updated"],
        "first_individual_id": created.first_individual_id,
        "last_individual_id": created.last_individual_id,
        "individuals": created.individuals,
        "documents": created.documents + updated["documents"],
        "members": created.members,
        "beneficiaries": beneficiaries,
    }
