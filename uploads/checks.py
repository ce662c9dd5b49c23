"""The set-based checks of a staged batch: locations and scope, duplicates in the file and against the registry,
household consistency. Each is a few SQL statements over the staging table, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.utils.translation import gettext as _

from programs.models import BenefitPlan
from registry import matching, rules
from registry.bulk import DOCUMENT, INDIVIDUAL, LOCATION, Source  # noqa: F401 (the update preview's reads)
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import DuplicateMode, RowStatus, StagedError, StagedRow

S = StagedRow._meta.db_table
E = StagedError._meta.db_table
OUTSIDE = "outside:"  # match_kind prefix: the row's document belongs to someone outside the uploader's area
OK = f"status <> '{RowStatus.ERROR}'"
CHECKED_COLUMNS = (
    "id",
    "batch_id",
    "row_number",
    "status",
    "family_key",
    "given_key",
    "birth_date",
    "location_code",
    "location_id",
    "household_code",
    "household_role",
    "primary_recipient",
    "match_kind",
    "match_individual_id",
    "duplicate_of_row",
    "existing_household_id",
)
Progress = Callable[[str], None]


def _run(sql: str, params: list | tuple = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _error_insert(select_sql: str, params: list | tuple) -> int:
    """INSERT the (batch_id, row_number, column, message) rows the SELECT gives into the error table."""
    return _run(f'INSERT INTO {E} (batch_id, row_number, "column", message) {select_sql}', params)


def _exists(sql: str, params: list | tuple = ()) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def work_memory_raise() -> None:
    """Inside a transaction on PostgreSQL: sorts and hashes over a million staged rows stay in memory."""
    if connection.vendor == "postgresql":
        _run("SET LOCAL work_mem = '128MB'")


def staging_analyze(*, documents: list[str] | None = None) -> None:
    """Fresh planner statistics after a bulk load: without them PostgreSQL nests loops over a million rows.

    Given the file's document columns (validation), only the columns the checks filter, group or join on
    are analysed; the commit analyses every column.
    """
    if connection.vendor == "postgresql":
        if documents is None:
            _run(f"ANALYZE {S}")
        else:
            columns = ", ".join(
                (*CHECKED_COLUMNS, *(column for column in documents if column in DOCUMENT_COLUMNS))
            )
            _run(f"ANALYZE {S} ({columns})")
        _run(f"ANALYZE {E}")


def _errors_watermark() -> int:
    """The highest error id so far: the errors a check inserts after it are the ones it must mark."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {E}")
        return cursor.fetchone()[0]


def _errors_mark(batch_id: int, *, since: int) -> int:
    """Rows given an error after `since` become errors; found from the few error rows, not by scanning staging."""
    return _run(
        f"UPDATE {S} SET status = %s FROM (SELECT DISTINCT row_number FROM {E} WHERE batch_id = %s AND id > %s) e "
        f"WHERE {S}.batch_id = %s AND {S}.row_number = e.row_number AND {S}.{OK}",
        [RowStatus.ERROR, batch_id, since, batch_id],
    )


def _status_set(status: str | None) -> str:
    """The SET clause giving a duplicate its final status as it is found (None: it waits for its error)."""
    return f", status = '{status}'" if status else ""


def _file_duplicates(*, batch_id: int, documents: list[str], status: str | None) -> int:
    """Later rows repeating an identity document, or name + birth date + location, of an earlier row.

    Each statement is one aggregate over the batch; when it finds no group, the UPDATE reads no row.
    """
    found = 0
    for column in documents:
        found += _run(
            f"UPDATE {S} SET duplicate_of_row = f.first_row, match_kind = %s{_status_set(status)} "
            f"FROM (SELECT {column} AS value, MIN(row_number) AS first_row FROM {S} "
            f"      WHERE batch_id = %s AND {OK} AND {column} <> '' GROUP BY {column} HAVING COUNT(*) > 1) f "
            f"WHERE {S}.batch_id = %s AND {S}.{OK} AND {S}.{column} = f.value AND {S}.row_number > f.first_row "
            f"AND {S}.duplicate_of_row IS NULL",
            [f"file:{column}", batch_id, batch_id],
        )
    found += _run(
        f"UPDATE {S} SET duplicate_of_row = f.first_row, match_kind = 'file:name'{_status_set(status)} "
        f"FROM (SELECT family_key, given_key, birth_date, location_code, MIN(row_number) AS first_row FROM {S} "
        f"      WHERE batch_id = %s AND {OK} AND duplicate_of_row IS NULL AND birth_date IS NOT NULL "
        f"      GROUP BY family_key, given_key, birth_date, location_code HAVING COUNT(*) > 1) f "
        f"WHERE {S}.batch_id = %s AND {S}.{OK} AND {S}.duplicate_of_row IS NULL AND {S}.family_key = f.family_key "
        f"AND {S}.given_key = f.given_key AND {S}.birth_date = f.birth_date AND {S}.location_code = f.location_code "
        f"AND {S}.row_number > f.first_row",
        [batch_id, batch_id],
    )
    return found


def _registry_matches(*, batch_id: int, documents: list[str], status: str | None) -> int:
    """The existing people each row matches: by identity document, else by name, birth date and location.

    A single match takes `status` at once; several matches (ambiguous) keep theirs until their error.
    """
    status_case = f", status = CASE WHEN m.matches > 1 THEN {S}.status ELSE '{status}' END" if status else ""
    unmatched = f"FROM {S} WHERE batch_id = %s AND {OK} AND duplicate_of_row IS NULL"
    matched = 0
    by_document = matching.document_matches(
        Source(f"SELECT id AS key{''.join(f', {column}' for column in documents)} {unmatched}", [batch_id]),
        documents=documents,
    )
    if by_document is not None:
        matched += _run(
            f"UPDATE {S} SET match_individual_id = m.individual_id, "
            f"match_kind = CASE WHEN m.matches > 1 THEN 'ambiguous:document' ELSE 'document' END{status_case} "
            f"FROM {by_document.relation('m')} WHERE {S}.id = m.key",
            by_document.params,
        )
    by_name = matching.name_matches(
        Source(
            f"SELECT id AS key, family_key, given_key, birth_date, location_id {unmatched} AND match_kind = ''",
            [batch_id],
        )
    )
    matched += _run(
        f"UPDATE {S} SET match_individual_id = m.individual_id, "
        f"match_kind = CASE WHEN m.matches > 1 THEN 'ambiguous:name' ELSE 'name' END{status_case} "
        f"FROM {by_name.relation('m')} WHERE {S}.id = m.key",
        by_name.params,
    )
    if matched:
        if connection.vendor == "postgresql":
            # The statistics of the validation's start say no row matched: without fresh ones, PostgreSQL
            # joins the matched rows to their groups by nested loops (50,000 matches: over 10 minutes).
            _run(f"ANALYZE {S} (status, match_kind, match_individual_id)")
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
    return matched


def _outside_mark(*, batch_id: int, documents: list[str], scope_paths: list[str]) -> int:
    """Rows matched by identity document to someone outside the uploader's area (or nowhere) become
    `outside:<column>` matches: never updated, and their messages say nothing about that person."""
    outside = matching.documents_outside(
        Source(
            f"SELECT id AS key, match_individual_id AS individual_id{''.join(f', {column}' for column in documents)} "
            f"FROM {S} WHERE batch_id = %s AND {OK} AND match_kind = 'document'",
            [batch_id],
        ),
        documents=documents,
        scope_paths=scope_paths,
    )
    if outside is None:
        return 0
    return _run(
        f"UPDATE {S} SET match_kind = '{OUTSIDE}' || o.doc_type FROM {outside.relation('o')} WHERE {S}.id = o.key",
        outside.params,
    )


def duplicates_check(
    *, batch_id: int, mode: str, documents: list[str], scope_paths: list[str] | None = None
) -> None:
    """Find duplicates, then apply the upload's mode: skip them, update the person, or refuse them as errors.

    A duplicate that is skipped or updates its person gets that status as it is found; only errors need a
    pass of their own, and only when there are duplicates. `scope_paths` is the uploader's area (None: they
    see everywhere): a row naming, by identity document, someone outside it is skipped in "skip" mode and an
    error otherwise, whose message says that the number is registered and nothing about its holder.
    """
    documents = [column for column in documents if column in DOCUMENT_COLUMNS]
    since = _errors_watermark()
    in_file = _file_duplicates(
        batch_id=batch_id, documents=documents, status=RowStatus.SKIP if mode == DuplicateMode.SKIP else None
    )
    matched = _registry_matches(
        batch_id=batch_id,
        documents=documents,
        status={DuplicateMode.SKIP: RowStatus.SKIP, DuplicateMode.UPDATE: RowStatus.UPDATE}.get(mode),
    )
    outside = (
        _outside_mark(batch_id=batch_id, documents=documents, scope_paths=scope_paths)
        if matched and scope_paths is not None
        else 0
    )
    refused = []
    if matched:
        refused.append("match_kind LIKE 'ambiguous:%%'")
    if mode != DuplicateMode.SKIP and (in_file or matched):
        refused.append("duplicate_of_row IS NOT NULL")
    if mode == DuplicateMode.STOP and matched:
        refused.append("(duplicate_of_row IS NULL AND match_kind IN ('document', 'name'))")
    if mode != DuplicateMode.SKIP and outside:
        refused.append(f"match_kind LIKE '{OUTSIDE}%%'")
    if not refused:
        return
    outside_column = (
        f"CASE WHEN match_kind LIKE '{OUTSIDE}%%' THEN SUBSTR(match_kind, {len(OUTSIDE) + 1}) ELSE '' END"
    )
    outside_value = (
        "CASE match_kind "
        + " ".join(f"WHEN '{OUTSIDE}{column}' THEN {column}" for column in documents)
        + " ELSE '' END"
        if documents
        else "''"
    )
    message = (
        f"CASE WHEN match_kind LIKE '{OUTSIDE}%%' THEN REPLACE(%s, '{{number}}', {outside_value}) "
        "WHEN match_kind LIKE 'ambiguous:%%' THEN 'Matches several people in the registry (by ' || "
        "CASE WHEN match_kind = 'ambiguous:document' THEN 'identity documents' ELSE 'name, birth date and location' END "
        "|| '): which one is meant cannot be decided; correct the row or merge the people first.' "
        "WHEN duplicate_of_row IS NOT NULL THEN 'Duplicate of row ' || duplicate_of_row || ' of this file (' || "
        "CASE WHEN match_kind = 'file:name' THEN 'same name, birth date and location' "
        "WHEN match_kind = 'file:match' THEN 'same person in the registry' "
        "ELSE 'same ' || SUBSTR(match_kind, 6) END || ').' "
        "WHEN match_kind = 'document' THEN 'Already in the registry as individual #' || match_individual_id "
        "|| ' (same identity document).' ELSE 'Possibly already in the registry as individual #' || "
        "match_individual_id || ' (same name, birth date and location).' END"
    )
    if _error_insert(
        f"SELECT batch_id, row_number, {outside_column}, {message} FROM {S} "
        f"WHERE batch_id = %s AND {OK} AND ({' OR '.join(refused)})",
        [outside_registered_message(), batch_id],
    ):
        _errors_mark(batch_id, since=since)


def outside_registered_message() -> str:
    """What a row is told about an identity number held by someone outside the uploader's area: only that it
    is registered ({number} stands for the number)."""
    return _("The number {number} is already registered: this upload cannot use it for this row.")


# The registry's contract columns a household rule names, as the file's columns.
RULE_COLUMNS = {
    "role": "household_role",
    "is_primary_recipient": "primary_recipient",
    "household_key": "household_code",
    "location_id": "location_code",
}


def _new_households(batch_id: int) -> Source:
    """The batch's new rows as the registry's household rules read them (contract of `registry.bulk`; the
    household by its code, `rules.household_problems(by_code=True)`)."""
    return Source(
        f"SELECT row_number, household_code AS household_key, household_role AS role, "
        f"primary_recipient AS is_primary_recipient, location_id FROM {S} "
        f"WHERE batch_id = %s AND status = '{RowStatus.NEW}'",
        [batch_id],
    )


def _household_rows(batch_id: int, condition: str) -> str:
    """FROM ... giving the new rows (`s`) of the households of the problems table (`p`) that `condition`
    names, each read within its rows' span (the staging table's index on row numbers)."""
    return (
        f"FROM {rules.PROBLEMS} p JOIN {S} s ON s.batch_id = {int(batch_id)} "
        f"AND s.row_number BETWEEN p.first_row AND p.last_row AND s.household_code = p.code "
        f"AND s.status = '{RowStatus.NEW}' WHERE {condition}"
    )


def _households_outside_refuse(*, batch_id: int, scope_paths: list[str]) -> int:
    """New rows joining an existing household outside the uploader's area are errors that say only that the
    household code is registered: nobody adds people to (and resizes) a household they may not see. Those
    households are set aside: the household rules say nothing more about them."""
    outside = matching.households_outside(
        Source(f"SELECT code AS household_key, existing AS household_id FROM {rules.PROBLEMS}"),
        scope_paths=scope_paths,
    )
    if not _run(
        f"UPDATE {rules.PROBLEMS} SET set_aside = 1 WHERE code IN (SELECT o.household_key FROM "
        f"{outside.relation('o')})",
        outside.params,
    ):
        return 0
    return _error_insert(
        f"SELECT {int(batch_id)}, s.row_number, 'household_code', REPLACE(%s, '{{code}}', s.household_code) "
        f"{_household_rows(batch_id, 'p.set_aside = 1')}",
        [_("The household code {code} is already registered: this upload cannot add people to it.")],
    )


def households_check(*, batch_id: int, plan: BenefitPlan, scope_paths: list[str] | None = None) -> None:
    """The registry's household rules (`registry.rules`: one head, at most one primary recipient, one
    location; existing households keep theirs) over the batch's new rows, refused rows listed as errors. A
    household plan also needs every new person in a household. An existing household outside the uploader's
    area (`scope_paths`; None: everywhere) takes no one from the file.

    One aggregate over the batch's new rows (`rules.household_problems`) finds the households that are
    registered already or break a rule (and whether some rows have no household); only their rows are read
    again, by row number.
    """
    since = _errors_watermark()
    field = " ".join(f"WHEN '{name}' THEN '{column}'" for name, column in RULE_COLUMNS.items())

    def errors_insert(sql: str, params: list) -> int:
        return _error_insert(
            f"SELECT %s, r.row_number, CASE r.field {field} ELSE r.field END, r.message FROM ({sql}) r",
            [batch_id, *params],
        )

    source = _new_households(batch_id)
    keep = "existing IS NOT NULL" + (" OR code = ''" if plan.is_household else "")
    inserted = 0
    with rules.household_problems(source, by_code=True, keep=keep) as problems:
        if _exists(f"SELECT 1 FROM {problems} WHERE existing IS NOT NULL"):
            _run(
                f"UPDATE {S} SET existing_household_id = p.existing FROM {problems} p "
                f"WHERE p.existing IS NOT NULL AND {S}.batch_id = %s AND {S}.status = '{RowStatus.NEW}' "
                f"AND {S}.row_number BETWEEN p.first_row AND p.last_row AND {S}.household_code = p.code",
                [batch_id],
            )
            if scope_paths is not None:
                inserted += _households_outside_refuse(batch_id=batch_id, scope_paths=scope_paths)
        inserted += rules.problem_refusals(source, consume=errors_insert, among="in this file")
        if plan.is_household and _exists(f"SELECT 1 FROM {problems} WHERE code = ''"):
            inserted += _error_insert(
                f"SELECT {int(batch_id)}, s.row_number, 'household_code', %s "
                + _household_rows(batch_id, "p.code = ''"),
                [
                    _("Plan %(plan)s enrols households: household_code is required.") % {"plan": plan.code},
                ],
            )
    if inserted:
        _errors_mark(batch_id, since=since)


def batch_counts(*, batch_id: int) -> dict[str, int]:
    """Rows by status, duplicates and new households, in one pass over the batch.

    A new household keeps its rows only while its head's row is new, so new heads count new households.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, COUNT(*), "
            f"SUM(CASE WHEN match_kind <> '' OR duplicate_of_row IS NOT NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN household_role = 'head' AND household_code <> '' AND existing_household_id IS NULL "
            f"THEN 1 ELSE 0 END) FROM {S} WHERE batch_id = %s GROUP BY status",
            [batch_id],
        )
        counts = {status: (rows, duplicates, heads) for status, rows, duplicates, heads in cursor.fetchall()}
    return {
        "duplicates": sum(duplicates for _, duplicates, _ in counts.values()),
        "total": sum(rows for rows, _, _ in counts.values()),
        "new": counts.get(RowStatus.NEW, (0, 0, 0))[0],
        "update": counts.get(RowStatus.UPDATE, (0, 0, 0))[0],
        "skip": counts.get(RowStatus.SKIP, (0, 0, 0))[0],
        "error": counts.get(RowStatus.ERROR, (0, 0, 0))[0],
        "households": counts.get(RowStatus.NEW, (0, 0, 0))[2],
    }
