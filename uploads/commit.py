"""The commit of a validated batch: households, individuals, documents, memberships and beneficiaries
written with INSERT ... SELECT from the staging table, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import connection
from django.utils import timezone

from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan
from registry.models import IndividualStatus, RegistrationSource
from uploads.checks import DOCUMENT, HOUSEHOLD, INDIVIDUAL, MEMBER, S, _run
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import RowStatus

BENEFICIARY = Beneficiary._meta.db_table
NEW = f"status = '{RowStatus.NEW}'"
Step = Callable[[str], None]


def _json(expression: str) -> str:
    return f"CAST({expression} AS jsonb)" if connection.vendor == "postgresql" else expression


def _json_merge(current: str, change: str) -> str:
    if connection.vendor == "postgresql":
        return f"{current} || CAST({change} AS jsonb)"
    return f"json_patch({current}, {change})"


def _individual_ids_assign(batch_id: int) -> None:
    """Give each new row the id its person will have, so documents and memberships can refer to it."""
    if connection.vendor == "postgresql":
        _run(
            f"UPDATE {S} SET individual_id = nextval(pg_get_serial_sequence('{INDIVIDUAL}', 'id')) "
            f"WHERE batch_id = %s AND {NEW}",
            [batch_id],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {INDIVIDUAL}")
        base = cursor.fetchone()[0]
    _run(
        f"UPDATE {S} SET individual_id = r.n + %s FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY row_number) AS n "
        f"FROM {S} WHERE batch_id = %s AND {NEW}) r WHERE {S}.id = r.id",
        [base, batch_id],
    )


def batch_rows_commit(*, batch_id: int, plan: BenefitPlan, task_id: int | None, step: Step) -> dict[str, int]:
    """Write every committable row of the batch; the caller's transaction makes it all or nothing."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    today = date.today().isoformat()
    counts: dict[str, int] = {}

    step("Creating households")
    counts["households"] = _run(
        f"INSERT INTO {HOUSEHOLD} (code, location_id, address, data, size, registration_date, created_at, updated_at) "
        f"SELECT household_code, location_id, '', {_json('hh_data')}, 0, %s, %s, %s FROM {S} "
        f"WHERE batch_id = %s AND {NEW} AND household_role = 'head' AND household_code <> '' "
        f"AND existing_household_id IS NULL",
        [today, now, now, batch_id],
    )
    _run(
        f"UPDATE {S} SET household_id = h.id FROM {HOUSEHOLD} h WHERE {S}.batch_id = %s AND {S}.{NEW} "
        f"AND {S}.household_code <> '' AND h.code = {S}.household_code",
        [batch_id],
    )

    step("Creating individuals")
    _individual_ids_assign(batch_id)
    counts["individuals"] = _run(
        f"INSERT INTO {INDIVIDUAL} (id, given_name, family_name, other_names, sex, birth_date, birth_date_estimated, "
        f"phone, location_id, registration_date, registration_source, status, data, created_at, updated_at) "
        f"SELECT individual_id, given_name, family_name, other_names, sex, birth_date, birth_date_estimated, phone, "
        f"location_id, %s, %s, %s, {_json('ind_data')}, %s, %s FROM {S} WHERE batch_id = %s AND {NEW}",
        [today, RegistrationSource.UPLOAD, IndividualStatus.ACTIVE, now, now, batch_id],
    )

    step("Updating existing individuals")
    counts["updated"] = _run(
        f"UPDATE {INDIVIDUAL} SET given_name = s.given_name, family_name = s.family_name, "
        f"other_names = CASE WHEN s.other_names <> '' THEN s.other_names ELSE {INDIVIDUAL}.other_names END, "
        f"sex = s.sex, birth_date = COALESCE(s.birth_date, {INDIVIDUAL}.birth_date), "
        f"birth_date_estimated = s.birth_date_estimated, "
        f"phone = CASE WHEN s.phone <> '' THEN s.phone ELSE {INDIVIDUAL}.phone END, location_id = s.location_id, "
        f"data = {_json_merge(f'{INDIVIDUAL}.data', 's.ind_data')}, updated_at = %s "
        f"FROM {S} s WHERE s.batch_id = %s AND s.status = %s AND {INDIVIDUAL}.id = s.match_individual_id",
        [now, batch_id, RowStatus.UPDATE],
    )
    _run(
        f"UPDATE {S} SET individual_id = match_individual_id WHERE batch_id = %s AND status = %s",
        [batch_id, RowStatus.UPDATE],
    )

    step("Recording identity documents")
    documents = 0
    for column in DOCUMENT_COLUMNS:
        documents += _run(
            f"INSERT INTO {DOCUMENT} (individual_id, doc_type, value) SELECT s.individual_id, %s, s.{column} "
            f"FROM {S} s WHERE s.batch_id = %s AND s.status = %s AND s.{column} <> ''",
            [column, batch_id, RowStatus.NEW],
        )
        # An updated person gains the documents they did not have yet.
        documents += _run(
            f"INSERT INTO {DOCUMENT} (individual_id, doc_type, value) SELECT s.individual_id, %s, s.{column} "
            f"FROM {S} s WHERE s.batch_id = %s AND s.status = %s AND s.{column} <> '' "
            f"AND NOT EXISTS (SELECT 1 FROM {DOCUMENT} d WHERE d.doc_type = %s "
            f"AND (d.individual_id = s.individual_id OR d.value = s.{column}))",
            [column, batch_id, RowStatus.UPDATE, column],
        )
    counts["documents"] = documents

    step("Adding household members")
    # The head receives the payments unless the household names someone else.
    _run(
        f"UPDATE {S} SET primary_recipient = TRUE WHERE batch_id = %s AND {NEW} AND household_role = 'head' "
        f"AND existing_household_id IS NULL AND household_code NOT IN "
        f"(SELECT household_code FROM {S} WHERE batch_id = %s AND {NEW} AND primary_recipient)",
        [batch_id, batch_id],
    )
    counts["members"] = _run(
        f"INSERT INTO {MEMBER} (household_id, individual_id, role, is_primary_recipient, start_date, end_date) "
        f"SELECT household_id, individual_id, household_role, primary_recipient, %s, NULL FROM {S} "
        f"WHERE batch_id = %s AND {NEW} AND household_id IS NOT NULL",
        [today, batch_id],
    )
    _run(
        f"UPDATE {HOUSEHOLD} SET size = c.n FROM (SELECT m.household_id, COUNT(*) AS n FROM {MEMBER} m "
        f"WHERE m.end_date IS NULL AND m.household_id IN "
        f"(SELECT household_id FROM {S} WHERE batch_id = %s AND household_id IS NOT NULL) GROUP BY m.household_id) c "
        f"WHERE {HOUSEHOLD}.id = c.household_id",
        [batch_id],
    )

    step("Enrolling beneficiaries")
    counts["beneficiaries"] = _beneficiaries_insert(batch_id=batch_id, plan=plan, task_id=task_id, now=now)
    return counts


def _beneficiaries_insert(*, batch_id: int, plan: BenefitPlan, task_id: int | None, now: Any) -> int:
    constants = [plan.pk, BeneficiaryStatus.POTENTIAL, "", now, now, task_id]
    columns = (
        "benefit_plan_id, individual_id, household_id, location_id, status, status_reason, status_changed_at, "
        "enrolled_at, enrolment_task_id, data"
    )
    head_data = _json("COALESCE(head.plan_data, '{}')")
    if not plan.is_household:
        return _run(
            f"INSERT INTO {BENEFICIARY} ({columns}) SELECT %s, s.individual_id, NULL, s.location_id, %s, %s, %s, %s, %s, "
            f"{_json('s.plan_data')} FROM {S} s WHERE s.batch_id = %s AND s.status IN (%s, %s) "
            f"AND NOT EXISTS (SELECT 1 FROM {BENEFICIARY} b WHERE b.benefit_plan_id = %s AND b.individual_id = s.individual_id)",
            [*constants, batch_id, RowStatus.NEW, RowStatus.UPDATE, plan.pk],
        )
    return _run(
        f"INSERT INTO {BENEFICIARY} ({columns}) SELECT %s, NULL, h.id, h.location_id, %s, %s, %s, %s, %s, "
        f"{head_data} FROM {HOUSEHOLD} h "
        f"LEFT JOIN {S} head ON head.batch_id = %s AND head.household_id = h.id AND head.household_role = 'head' "
        f"AND head.{NEW} "
        f"WHERE h.id IN (SELECT household_id FROM {S} WHERE batch_id = %s AND {NEW} AND household_id IS NOT NULL "
        f"UNION SELECT m.household_id FROM {MEMBER} m JOIN {S} u ON u.individual_id = m.individual_id "
        f"WHERE u.batch_id = %s AND u.status = %s AND m.end_date IS NULL) "
        f"AND NOT EXISTS (SELECT 1 FROM {BENEFICIARY} b WHERE b.benefit_plan_id = %s AND b.household_id = h.id)",
        [*constants, batch_id, batch_id, batch_id, RowStatus.UPDATE, plan.pk],
    )
