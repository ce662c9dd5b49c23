"""The commit of a validated batch: households, individuals, documents, memberships and beneficiaries
written with INSERT ... SELECT from the staging table, inside the caller's transaction.

The new people's ids are reserved as one block of the sequence spanning the
file's first to last new row, so the new row numbered r becomes individual
`first_id + r - first_row`: documents and memberships refer to people without a
pass writing ids back to staging, nor a window numbering the rows at each use.
The ids of rejected or skipped rows in between stay unused (a sequence has gaps
anyway).

Every reference written is a database FK constraint (registry 0008). PostgreSQL checks
them one row at a time (a lookup and a row lock each); deferred, as Django creates them,
the checks of all the statements run together at the end of the commit (SET CONSTRAINTS
... IMMEDIATE), inside it, so a failure is the commit's: measured at 500,000 rows, a
quarter less CPU than checking at the end of each statement. Each statement writes in
its parents' key order (new people's ids follow the file's rows, households' too), so
the checks walk the parents' index and pages in order. What could fail them is refused
before, naming the rows: locations deleted since validation (the locations named are
locked first), people and households deleted since (counted below).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan
from registry.models import Individual, IndividualStatus, Location, RegistrationSource
from uploads.checks import DOCUMENT, HOUSEHOLD, INDIVIDUAL, MEMBER, S, _run
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import RowStatus

BENEFICIARY = Beneficiary._meta.db_table
LOCATION = Location._meta.db_table
NEW = f"status = '{RowStatus.NEW}'"
COMMITTED = f"status IN ('{RowStatus.NEW}', '{RowStatus.UPDATE}')"
WRITTEN_TABLES = (HOUSEHOLD, INDIVIDUAL, DOCUMENT, MEMBER, BENEFICIARY)
Step = Callable[[str], None]


def _json(expression: str) -> str:
    return f"CAST({expression} AS jsonb)" if connection.vendor == "postgresql" else expression


def _json_merge(current: str, change: str) -> str:
    if connection.vendor == "postgresql":
        return f"{current} || CAST({change} AS jsonb)"
    return f"json_patch({current}, {change})"


def _scalar(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def individual_ids_reserve(count: int) -> int:
    """Reserve `count` consecutive ids for new individuals; return the first."""
    if count == 0:
        return 0
    if connection.vendor == "postgresql":
        # One statement keeps the window tiny; a concurrent insert landing in it breaks the
        # primary key, and the commit then fails whole with the "validate again" message.
        last = _scalar(
            f"SELECT setval(pg_get_serial_sequence('{INDIVIDUAL}', 'id'), "
            f"nextval(pg_get_serial_sequence('{INDIVIDUAL}', 'id')) + %s - 1)",
            [count],
        )
        return int(last) - count + 1
    return int(_scalar(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {INDIVIDUAL}", []))


def _foreign_keys_check() -> None:
    """Check, now, the deferred FK constraints of the rows the commit wrote (a failure is then the commit's
    error, not the outer transaction's COMMIT's); later writes of the transaction are deferred again."""
    if connection.vendor != "postgresql":
        connection.check_constraints(table_names=list(WRITTEN_TABLES))
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable AND conrelid IN "
            f"({', '.join('%s::regclass' for _table in WRITTEN_TABLES)})",
            list(WRITTEN_TABLES),
        )
        names = ", ".join(connection.ops.quote_name(row[0]) for row in cursor.fetchall())
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def _locations_lock(batch_id: int) -> None:
    """Lock the locations the batch's rows name until the commit ends; refuse, by row, any deleted since the
    validation (a constraint error would name no row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT location_id FROM {S} WHERE batch_id = %s AND {COMMITTED}", [batch_id]
        )
        named = {row[0] for row in cursor.fetchall()}
        if not named:
            return
        ids = sorted(named)
        lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
        cursor.execute(f"SELECT id FROM {LOCATION} WHERE id IN ({', '.join(['%s'] * len(ids))}){lock}", ids)
        gone = sorted(named - {row[0] for row in cursor.fetchall()})
        if not gone:
            return
        cursor.execute(
            f"SELECT row_number, location_code FROM {S} WHERE batch_id = %s AND {COMMITTED} "
            f"AND location_id IN ({', '.join(['%s'] * len(gone))}) ORDER BY row_number LIMIT 5",
            [batch_id, *gone],
        )
        rows = cursor.fetchall()
    where = ", ".join(
        _("row %(row)s (location_code %(code)s)") % {"row": row, "code": code} for row, code in rows
    )
    raise ValidationError(
        _(
            "%(count)s of the locations this upload names were deleted from the registry since it was "
            "validated: %(rows)s. Nothing was stored: validate the upload again."
        )
        % {"count": len(gone), "rows": where}
    )


def _new_rows(first_id: int, first_row: int, batch_id: int) -> tuple[str, list[Any]]:
    """The batch's new rows, each with the id its person gets (`iid`)."""
    return (
        f"SELECT s.*, s.row_number + %s AS iid FROM {S} s WHERE s.batch_id = %s AND s.{NEW}",
        [first_id - first_row, batch_id],
    )


def _new_rows_span(batch_id: int) -> tuple[int, int]:
    """The row numbers of the batch's first and last new rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(row_number), MAX(row_number) FROM {S} WHERE batch_id = %s AND {NEW}", [batch_id]
        )
        first, last = cursor.fetchone()
    return (first, last) if first is not None else (0, -1)


def _individual_history(
    *,
    batch_id: int,
    history_type: str,
    date_sql: str,
    reason: str,
    user_id: int | None,
    only_without_history: bool,
    params: list[Any],
) -> int:
    """simple-history rows, set-based, for the registry people this batch updates (as they are now)."""
    history = Individual.history.model
    fields = [field.column for field in Individual._meta.concrete_fields]
    without = (
        f"AND NOT EXISTS (SELECT 1 FROM {history._meta.db_table} h WHERE h.id = i.id)"
        if only_without_history
        else ""
    )
    return _run(
        f"INSERT INTO {history._meta.db_table} ({', '.join(fields)}, history_date, history_change_reason, "
        f"history_type, history_user_id) "
        f"SELECT {', '.join(f'i.{column}' for column in fields)}, {date_sql}, %s, %s, %s FROM {INDIVIDUAL} i "
        f"WHERE i.id IN (SELECT s.match_individual_id FROM {S} s WHERE s.batch_id = %s AND s.status = %s) {without}",
        [*params, reason[:100], history_type, user_id, batch_id, RowStatus.UPDATE],
    )


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
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    today = date.today().isoformat()
    counts: dict[str, Any] = {}
    documents = [column for column in documents if column in DOCUMENT_COLUMNS]

    _locations_lock(batch_id)
    # The existing households this batch adds members to are locked against deletion until the commit
    # ends, and the existing people it updates are locked by their UPDATE below; what was deleted since the
    # validation is counted and refused, naming what vanished, before any constraint would fail.
    if connection.vendor == "postgresql":
        _run(
            f"SELECT 1 FROM {HOUSEHOLD} WHERE id IN (SELECT existing_household_id FROM {S} "
            f"WHERE batch_id = %s AND {NEW} AND existing_household_id IS NOT NULL) FOR KEY SHARE",
            [batch_id],
        )

    step("Creating households")
    counts["households"] = _run(
        f"INSERT INTO {HOUSEHOLD} (code, location_id, address, data, size, registration_date, created_at, updated_at) "
        f"SELECT s.household_code, s.location_id, '', {_json('s.hh_data')}, g.n, %s, %s, %s FROM {S} s "
        f"JOIN (SELECT household_code, COUNT(*) AS n FROM {S} WHERE batch_id = %s AND {NEW} AND household_code <> '' "
        f"      GROUP BY household_code) g ON g.household_code = s.household_code "
        f"WHERE s.batch_id = %s AND s.{NEW} AND s.household_role = 'head' AND s.existing_household_id IS NULL",
        [today, now, now, batch_id, batch_id],
    )

    step("Updating existing individuals")
    # Before the new people exist: on SQLite a new person may take the id of one deleted since validation.
    # The people an upload changes get history rows like an edit in the admin would give them: their
    # state before (when nothing recorded it yet, e.g. they came from an earlier bulk write) and after.
    _individual_history(
        batch_id=batch_id,
        history_type="~",
        date_sql="i.updated_at",
        reason=f"As it was before upload batch #{batch_id}",
        user_id=None,
        only_without_history=True,
        params=[],
    )
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

    if counts["updated"] != update_rows:
        raise ValidationError(
            f"{update_rows - counts['updated']:,} of the people this upload updates were deleted from the "
            "registry since it was validated. Nothing was stored: validate the upload again."
        )
    if counts["updated"]:
        task = f", approved in task #{task_id}" if task_id else ""
        _individual_history(
            batch_id=batch_id,
            history_type="~",
            date_sql="%s",
            reason=f"Updated by upload batch #{batch_id}{task}",
            user_id=maker_id,
            only_without_history=False,
            params=[now],
        )

    step("Creating individuals")
    first_row, last_row = _new_rows_span(batch_id)
    first_id = individual_ids_reserve(last_row - first_row + 1)
    counts["first_individual_id"] = first_id
    counts["last_individual_id"] = first_id + last_row - first_row if new_rows else 0
    rows_sql, rows_params = _new_rows(first_id, first_row, batch_id)
    counts["individuals"] = _run(
        f"INSERT INTO {INDIVIDUAL} (id, given_name, family_name, other_names, sex, birth_date, birth_date_estimated, "
        f"phone, location_id, registration_date, registration_source, status, data, created_at, updated_at) "
        f"SELECT x.iid, x.given_name, x.family_name, x.other_names, x.sex, x.birth_date, x.birth_date_estimated, "
        f"x.phone, x.location_id, %s, %s, %s, {_json('x.ind_data')}, %s, %s FROM ({rows_sql}) x",
        [today, RegistrationSource.UPLOAD, IndividualStatus.ACTIVE, now, now, *rows_params],
    )
    if counts["individuals"] != new_rows:
        raise RuntimeError(f"{counts['individuals']} individuals written for {new_rows} new rows")

    step("Recording identity documents")
    counts["documents"] = 0
    if documents:
        union = " UNION ALL ".join(
            f"SELECT iid, '{column}', {column} FROM x WHERE {column} <> ''" for column in documents
        )
        counts["documents"] += _run(
            f"WITH x AS ({rows_sql}) INSERT INTO {DOCUMENT} (individual_id, doc_type, value) {union}",
            rows_params,
        )
        for column in documents:
            # An updated person gains the documents of a type they did not have yet.
            counts["documents"] += _run(
                f"INSERT INTO {DOCUMENT} (individual_id, doc_type, value) SELECT s.match_individual_id, %s, s.{column} "
                f"FROM {S} s WHERE s.batch_id = %s AND s.status = %s AND s.{column} <> '' "
                f"AND NOT EXISTS (SELECT 1 FROM {DOCUMENT} d WHERE d.doc_type = %s "
                f"AND (d.individual_id = s.match_individual_id OR d.value = s.{column}))",
                [column, batch_id, RowStatus.UPDATE, column],
            )

    step("Adding household members")
    # The head of a new household receives the payments unless the household names someone else.
    counts["members"] = _run(
        f"INSERT INTO {MEMBER} (household_id, individual_id, role, is_primary_recipient, start_date, end_date) "
        f"SELECT h.id, x.iid, x.household_role, CASE WHEN x.primary_recipient THEN TRUE "
        f"WHEN x.household_role = 'head' AND x.existing_household_id IS NULL AND x.household_code NOT IN "
        f"(SELECT household_code FROM {S} WHERE batch_id = %s AND {NEW} AND primary_recipient) THEN TRUE "
        f"ELSE FALSE END, %s, NULL FROM ({rows_sql}) x JOIN {HOUSEHOLD} h ON h.code = x.household_code "
        f"WHERE x.household_code <> ''",
        [batch_id, today, *rows_params],
    )
    expected_members = _scalar(
        f"SELECT COUNT(*) FROM {S} WHERE batch_id = %s AND {NEW} AND household_code <> ''", [batch_id]
    )
    if counts["members"] != expected_members:
        raise ValidationError(
            f"{expected_members - counts['members']:,} people of this upload join households that were "
            "deleted from the registry since it was validated. Nothing was stored: validate the upload again."
        )
    _run(
        f"UPDATE {HOUSEHOLD} SET size = c.n FROM (SELECT m.household_id, COUNT(*) AS n FROM {MEMBER} m "
        f"WHERE m.end_date IS NULL AND m.household_id IN (SELECT existing_household_id FROM {S} "
        f"WHERE batch_id = %s AND {NEW} AND existing_household_id IS NOT NULL) GROUP BY m.household_id) c "
        f"WHERE {HOUSEHOLD}.id = c.household_id",
        [batch_id],
    )

    step("Enrolling beneficiaries")
    counts["beneficiaries"] = _beneficiaries_insert(
        batch_id=batch_id, plan=plan, task_id=task_id, now=now, rows_sql=rows_sql, rows_params=rows_params
    )
    _foreign_keys_check()
    return counts


def _beneficiaries_insert(
    *, batch_id: int, plan: BenefitPlan, task_id: int | None, now: Any, rows_sql: str, rows_params: list[Any]
) -> int:
    constants = [plan.pk, BeneficiaryStatus.POTENTIAL, "", now, now, task_id]
    columns = (
        "benefit_plan_id, individual_id, household_id, location_id, status, status_reason, status_changed_at, "
        "enrolled_at, enrolment_task_id, data"
    )
    if not plan.is_household:
        return _run(
            f"INSERT INTO {BENEFICIARY} ({columns}) SELECT %s, p.iid, NULL, p.location_id, %s, %s, %s, %s, %s, "
            f"{_json('p.plan_data')} FROM (SELECT x.iid, x.location_id, x.plan_data FROM ({rows_sql}) x "
            f"UNION ALL SELECT s.match_individual_id, s.location_id, s.plan_data FROM {S} s "
            f"WHERE s.batch_id = %s AND s.status = %s) p "
            f"WHERE NOT EXISTS (SELECT 1 FROM {BENEFICIARY} b WHERE b.benefit_plan_id = %s AND b.individual_id = p.iid)",
            [*constants, *rows_params, batch_id, RowStatus.UPDATE, plan.pk],
        )
    head_data = _json("COALESCE(head.plan_data, '{}')")
    return _run(
        f"INSERT INTO {BENEFICIARY} ({columns}) SELECT %s, NULL, h.id, h.location_id, %s, %s, %s, %s, %s, "
        f"{head_data} FROM {HOUSEHOLD} h "
        f"LEFT JOIN {S} head ON head.batch_id = %s AND head.household_code = h.code AND head.household_role = 'head' "
        f"AND head.{NEW} "
        f"WHERE h.id IN (SELECT g.id FROM {HOUSEHOLD} g WHERE g.code IN (SELECT n.household_code FROM {S} n "
        f"WHERE n.batch_id = %s AND n.{NEW} AND n.household_code <> '') "
        f"UNION SELECT m.household_id FROM {MEMBER} m JOIN {S} u ON u.match_individual_id = m.individual_id "
        f"WHERE u.batch_id = %s AND u.status = %s AND m.end_date IS NULL) "
        f"AND NOT EXISTS (SELECT 1 FROM {BENEFICIARY} b WHERE b.benefit_plan_id = %s AND b.household_id = h.id)",
        [*constants, batch_id, batch_id, batch_id, RowStatus.UPDATE, plan.pk],
    )
