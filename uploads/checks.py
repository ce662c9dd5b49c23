"""The set-based checks of a staged batch: locations and scope, duplicates in the file and against the registry,
household consistency. Each is a few SQL statements over the staging table, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from programs.models import BenefitPlan
from registry.models import Household as HouseholdModel
from registry.models import HouseholdMember, IdentityDocument, Individual
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import DuplicateMode, RowStatus, StagedError, StagedRow

S = StagedRow._meta.db_table
E = StagedError._meta.db_table
DOCUMENT = IdentityDocument._meta.db_table
INDIVIDUAL = Individual._meta.db_table
HOUSEHOLD = HouseholdModel._meta.db_table
MEMBER = HouseholdMember._meta.db_table
OK = f"status <> '{RowStatus.ERROR}'"
Progress = Callable[[str], None]


def _run(sql: str, params: list | tuple = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _error_insert(select_sql: str, params: list | tuple) -> int:
    """INSERT the (batch_id, row_number, column, message) rows the SELECT gives into the error table."""
    return _run(f'INSERT INTO {E} (batch_id, row_number, "column", message) {select_sql}', params)


def work_memory_raise() -> None:
    """Inside a transaction on PostgreSQL: sorts and hashes over a million staged rows stay in memory."""
    if connection.vendor == "postgresql":
        _run("SET LOCAL work_mem = '128MB'")


def staging_analyze() -> None:
    """Fresh planner statistics after a bulk load: without them PostgreSQL nests loops over a million rows."""
    if connection.vendor == "postgresql":
        _run(f"ANALYZE {S}")
        _run(f"ANALYZE {E}")


def _errors_mark(batch_id: int) -> int:
    return _run(
        f"UPDATE {S} SET status = %s WHERE batch_id = %s AND {OK} AND EXISTS "
        f"(SELECT 1 FROM {E} e WHERE e.batch_id = {S}.batch_id AND e.row_number = {S}.row_number)",
        [RowStatus.ERROR, batch_id],
    )


def _file_duplicates(*, batch_id: int, documents: list[str]) -> None:
    """Later rows repeating an identity document, or name + birth date + location, of an earlier row."""
    for column in documents:
        _run(
            f"UPDATE {S} SET duplicate_of_row = f.first_row, match_kind = %s "
            f"FROM (SELECT {column} AS value, MIN(row_number) AS first_row FROM {S} "
            f"      WHERE batch_id = %s AND {OK} AND {column} <> '' GROUP BY {column} HAVING COUNT(*) > 1) f "
            f"WHERE {S}.batch_id = %s AND {S}.{OK} AND {S}.{column} = f.value AND {S}.row_number > f.first_row "
            f"AND {S}.duplicate_of_row IS NULL",
            [f"file:{column}", batch_id, batch_id],
        )
    _run(
        f"UPDATE {S} SET duplicate_of_row = f.first_row, match_kind = 'file:name' "
        f"FROM (SELECT family_key, given_key, birth_date, location_code, MIN(row_number) AS first_row FROM {S} "
        f"      WHERE batch_id = %s AND {OK} AND duplicate_of_row IS NULL AND birth_date IS NOT NULL "
        f"      GROUP BY family_key, given_key, birth_date, location_code HAVING COUNT(*) > 1) f "
        f"WHERE {S}.batch_id = %s AND {S}.{OK} AND {S}.duplicate_of_row IS NULL AND {S}.family_key = f.family_key "
        f"AND {S}.given_key = f.given_key AND {S}.birth_date = f.birth_date AND {S}.location_code = f.location_code "
        f"AND {S}.row_number > f.first_row",
        [batch_id, batch_id],
    )


def _registry_matches(*, batch_id: int, documents: list[str]) -> None:
    """The existing people each row matches: by identity document, else by name, birth date and location."""
    if documents:
        union = " UNION ALL ".join(
            f"SELECT x.id AS sid, d.individual_id AS iid FROM {S} x JOIN {DOCUMENT} d "
            f"ON d.doc_type = '{column}' AND d.value = x.{column} "
            f"WHERE x.batch_id = %s AND x.{OK} AND x.duplicate_of_row IS NULL AND x.{column} <> ''"
            for column in documents
        )
        _run(
            f"UPDATE {S} SET match_individual_id = m.iid, "
            f"match_kind = CASE WHEN m.n > 1 THEN 'ambiguous:document' ELSE 'document' END "
            f"FROM (SELECT sid, MIN(iid) AS iid, COUNT(DISTINCT iid) AS n FROM ({union}) u GROUP BY sid) m "
            f"WHERE {S}.id = m.sid",
            [batch_id] * len(documents),
        )
    _run(
        f"UPDATE {S} SET match_individual_id = m.iid, "
        f"match_kind = CASE WHEN m.n > 1 THEN 'ambiguous:name' ELSE 'name' END "
        f"FROM (SELECT x.id AS sid, MIN(i.id) AS iid, COUNT(*) AS n FROM {S} x JOIN {INDIVIDUAL} i "
        f"      ON UPPER(i.family_name) = x.family_key AND UPPER(i.given_name) = x.given_key "
        f"      AND i.birth_date = x.birth_date AND i.location_id = x.location_id "
        f"      WHERE x.batch_id = %s AND x.{OK} AND x.duplicate_of_row IS NULL AND x.match_kind = '' "
        f"      AND x.birth_date IS NOT NULL GROUP BY x.id) m "
        f"WHERE {S}.id = m.sid",
        [batch_id],
    )
    # Two rows of the file matching the same person: the later one repeats the earlier.
    _run(
        f"UPDATE {S} SET duplicate_of_row = f.first_row, match_kind = 'file:match' "
        f"FROM (SELECT match_individual_id, MIN(row_number) AS first_row FROM {S} "
        f"      WHERE batch_id = %s AND {OK} AND match_kind IN ('document', 'name') "
        f"      GROUP BY match_individual_id HAVING COUNT(*) > 1) f "
        f"WHERE {S}.batch_id = %s AND {S}.{OK} AND {S}.match_kind IN ('document', 'name') "
        f"AND {S}.match_individual_id = f.match_individual_id AND {S}.row_number > f.first_row",
        [batch_id, batch_id],
    )


def duplicates_check(*, batch_id: int, mode: str, documents: list[str]) -> None:
    """Find duplicates, then apply the upload's mode: skip them, update the person, or refuse them as errors."""
    documents = [column for column in documents if column in DOCUMENT_COLUMNS]
    _file_duplicates(batch_id=batch_id, documents=documents)
    _registry_matches(batch_id=batch_id, documents=documents)
    _error_insert(
        f"SELECT batch_id, row_number, '', 'Matches several people in the registry (by ' || "
        f"CASE WHEN match_kind = 'ambiguous:document' THEN 'identity documents' ELSE 'name, birth date and location' END "
        f"|| '): which one is meant cannot be decided; correct the row or merge the people first.' "
        f"FROM {S} WHERE batch_id = %s AND {OK} AND match_kind LIKE 'ambiguous:%%'",
        [batch_id],
    )
    file_message = (
        "'Duplicate of row ' || duplicate_of_row || ' of this file (' || "
        "CASE WHEN match_kind = 'file:name' THEN 'same name, birth date and location' "
        "WHEN match_kind = 'file:match' THEN 'same person in the registry' "
        "ELSE 'same ' || SUBSTR(match_kind, 6) END || ').'"
    )
    registry_message = (
        "CASE WHEN match_kind = 'document' THEN 'Already in the registry as individual #' || match_individual_id "
        "|| ' (same identity document).' ELSE 'Possibly already in the registry as individual #' || "
        "match_individual_id || ' (same name, birth date and location).' END"
    )
    if mode == DuplicateMode.SKIP:
        _run(
            f"UPDATE {S} SET status = %s WHERE batch_id = %s AND {OK} "
            f"AND (duplicate_of_row IS NOT NULL OR match_kind IN ('document', 'name'))",
            [RowStatus.SKIP, batch_id],
        )
    else:
        _error_insert(
            f"SELECT batch_id, row_number, '', {file_message} FROM {S} "
            f"WHERE batch_id = %s AND {OK} AND duplicate_of_row IS NOT NULL",
            [batch_id],
        )
        if mode == DuplicateMode.STOP:
            _error_insert(
                f"SELECT batch_id, row_number, '', {registry_message} FROM {S} "
                f"WHERE batch_id = %s AND {OK} AND duplicate_of_row IS NULL AND match_kind IN ('document', 'name')",
                [batch_id],
            )
        else:
            _run(
                f"UPDATE {S} SET status = %s WHERE batch_id = %s AND {OK} "
                f"AND duplicate_of_row IS NULL AND match_kind IN ('document', 'name')",
                [RowStatus.UPDATE, batch_id],
            )
    _errors_mark(batch_id)


def households_check(*, batch_id: int) -> None:
    """One head per household, at most one primary recipient, one location; existing households keep theirs."""
    new = f"status = '{RowStatus.NEW}' AND household_code <> ''"
    s_new = f"s.status = '{RowStatus.NEW}' AND s.household_code <> ''"
    _run(
        f"UPDATE {S} SET existing_household_id = h.id FROM {HOUSEHOLD} h "
        f"WHERE {S}.batch_id = %s AND {S}.status = '{RowStatus.NEW}' AND {S}.household_code <> '' AND h.code = {S}.household_code",
        [batch_id],
    )
    _error_insert(
        f"SELECT s.batch_id, s.row_number, 'household_role', 'Household ' || s.household_code || ' has ' || g.n "
        f"|| ' heads in this file (rows ' || g.first_row || ' to ' || g.last_row || '); it must have exactly one.' "
        f"FROM {S} s JOIN (SELECT household_code, COUNT(*) AS n, MIN(row_number) AS first_row, "
        f"MAX(row_number) AS last_row FROM {S} WHERE batch_id = %s AND {new} AND household_role = 'head' "
        f"GROUP BY household_code HAVING COUNT(*) > 1) g ON g.household_code = s.household_code "
        f"WHERE s.batch_id = %s AND {s_new} AND s.household_role = 'head'",
        [batch_id, batch_id],
    )
    _error_insert(
        f"SELECT s.batch_id, s.row_number, 'household_role', 'Household ' || s.household_code || "
        f"' already has a head in the registry.' FROM {S} s JOIN {MEMBER} m ON m.household_id = s.existing_household_id "
        f"AND m.end_date IS NULL AND m.role = 'head' WHERE s.batch_id = %s AND {s_new} AND s.household_role = 'head'",
        [batch_id],
    )
    _error_insert(
        f"SELECT s.batch_id, s.row_number, 'primary_recipient', 'Household ' || s.household_code || ' has ' || g.n "
        f"|| ' primary recipients in this file; it may have one.' FROM {S} s JOIN (SELECT household_code, COUNT(*) AS n "
        f"FROM {S} WHERE batch_id = %s AND {new} AND primary_recipient GROUP BY household_code HAVING COUNT(*) > 1) g "
        f"ON g.household_code = s.household_code WHERE s.batch_id = %s AND {s_new} AND s.primary_recipient",
        [batch_id, batch_id],
    )
    _error_insert(
        f"SELECT s.batch_id, s.row_number, 'primary_recipient', 'Household ' || s.household_code || "
        f"' already has a primary recipient in the registry.' FROM {S} s JOIN {MEMBER} m "
        f"ON m.household_id = s.existing_household_id AND m.end_date IS NULL AND m.is_primary_recipient "
        f"WHERE s.batch_id = %s AND {s_new} AND s.primary_recipient",
        [batch_id],
    )
    _errors_mark(batch_id)
    # Members of a new household need a valid head row, and live where the head lives.
    _error_insert(
        f"SELECT s.batch_id, s.row_number, 'household_code', 'Household ' || s.household_code || "
        f"' has no head: one of its rows must have household_role head (and no error).' FROM {S} s "
        f"WHERE s.batch_id = %s AND {s_new} AND s.existing_household_id IS NULL AND s.household_code NOT IN "
        f"(SELECT household_code FROM {S} WHERE batch_id = %s AND {new} AND household_role = 'head')",
        [batch_id, batch_id],
    )
    _error_insert(
        f"SELECT s.batch_id, s.row_number, 'location_code', 'Household ' || s.household_code || ' lives in ' || "
        f"h.location_code || ' (its head''s row ' || h.row_number || '), not ' || s.location_code || '.' "
        f"FROM {S} s JOIN {S} h ON h.batch_id = s.batch_id AND h.household_code = s.household_code "
        f"AND h.household_role = 'head' AND h.status = '{RowStatus.NEW}' "
        f"WHERE s.batch_id = %s AND {s_new} AND s.household_role <> 'head' AND s.location_code <> h.location_code",
        [batch_id],
    )
    _errors_mark(batch_id)


def plan_check(*, batch_id: int, plan: BenefitPlan) -> None:
    """Household plans enrol households: every new person must belong to one."""
    if plan.is_household:
        _error_insert(
            f"SELECT batch_id, row_number, 'household_code', 'Plan ' || %s || ' enrols households: "
            f"household_code is required.' FROM {S} WHERE batch_id = %s AND status = %s AND household_code = ''",
            [plan.code, batch_id, RowStatus.NEW],
        )
        _errors_mark(batch_id)


def batch_counts(*, batch_id: int) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, COUNT(*) FROM {S} WHERE batch_id = %s GROUP BY status", [batch_id])
        counts = {status: count for status, count in cursor.fetchall()}
        cursor.execute(
            f"SELECT COUNT(DISTINCT household_code) FROM {S} WHERE batch_id = %s AND status = %s "
            f"AND household_code <> '' AND existing_household_id IS NULL",
            [batch_id, RowStatus.NEW],
        )
        households = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT COUNT(*) FROM {S} WHERE batch_id = %s AND (match_kind <> '' OR duplicate_of_row IS NOT NULL)",
            [batch_id],
        )
        duplicates = cursor.fetchone()[0]
    return {
        "duplicates": duplicates,
        "total": sum(counts.values()),
        "new": counts.get(RowStatus.NEW, 0),
        "update": counts.get(RowStatus.UPDATE, 0),
        "skip": counts.get(RowStatus.SKIP, 0),
        "error": counts.get(RowStatus.ERROR, 0),
        "households": households,
    }
