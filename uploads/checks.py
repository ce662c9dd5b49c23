"""The set-based checks of a staged batch: locations and scope, duplicates in the file and against the registry,
household consistency. Each is a few SQL statements over the staging table, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection
from django.utils.translation import gettext as _

from programs.models import BenefitPlan
from registry.models import Household as HouseholdModel
from registry.models import HouseholdMember, IdentityDocument, Individual, Location
from uploads.columns import DOCUMENT_COLUMNS
from uploads.models import DuplicateMode, RowStatus, StagedError, StagedRow

S = StagedRow._meta.db_table
E = StagedError._meta.db_table
DOCUMENT = IdentityDocument._meta.db_table
INDIVIDUAL = Individual._meta.db_table
HOUSEHOLD = HouseholdModel._meta.db_table
MEMBER = HouseholdMember._meta.db_table
LOCATION = Location._meta.db_table
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


def _name_key(column: str) -> str:
    """UPPER(name) as individual_name_idx holds it (the "C" collation on PostgreSQL, migration registry 0007):
    a few rows matched against millions of people probe the index instead of reading the table."""
    return f'UPPER({column}) COLLATE "C"' if connection.vendor == "postgresql" else f"UPPER({column})"


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
    status_case = f", status = CASE WHEN m.n > 1 THEN {S}.status ELSE '{status}' END" if status else ""
    matched = 0
    if documents:
        union = " UNION ALL ".join(
            f"SELECT x.id AS sid, d.individual_id AS iid FROM {S} x JOIN {DOCUMENT} d "
            f"ON d.doc_type = '{column}' AND d.value = x.{column} "
            f"WHERE x.batch_id = %s AND x.{OK} AND x.duplicate_of_row IS NULL AND x.{column} <> ''"
            for column in documents
        )
        matched += _run(
            f"UPDATE {S} SET match_individual_id = m.iid, "
            f"match_kind = CASE WHEN m.n > 1 THEN 'ambiguous:document' ELSE 'document' END{status_case} "
            f"FROM (SELECT sid, MIN(iid) AS iid, COUNT(DISTINCT iid) AS n FROM ({union}) u GROUP BY sid) m "
            f"WHERE {S}.id = m.sid",
            [batch_id] * len(documents),
        )
    matched += _run(
        f"UPDATE {S} SET match_individual_id = m.iid, "
        f"match_kind = CASE WHEN m.n > 1 THEN 'ambiguous:name' ELSE 'name' END{status_case} "
        f"FROM (SELECT x.id AS sid, MIN(i.id) AS iid, COUNT(*) AS n FROM {S} x JOIN {INDIVIDUAL} i "
        f"      ON {_name_key('i.family_name')} = x.family_key AND {_name_key('i.given_name')} = x.given_key "
        f"      AND i.birth_date = x.birth_date AND i.location_id = x.location_id "
        f"      WHERE x.batch_id = %s AND x.{OK} AND x.duplicate_of_row IS NULL AND x.match_kind = '' "
        f"      AND x.birth_date IS NOT NULL GROUP BY x.id) m "
        f"WHERE {S}.id = m.sid",
        [batch_id],
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


def _inside(scope_paths: list[str]) -> str:
    """SQL true when location `l` lies in the area of `scope_paths` (the paths follow as prefix params)."""
    return " OR ".join("l.path LIKE %s" for _path in scope_paths) or "1 = 0"


def _outside_mark(*, batch_id: int, documents: list[str], scope_paths: list[str]) -> int:
    """Rows matched by identity document to someone outside the uploader's area (or nowhere) become
    `outside:<column>` matches: never updated, and their messages say nothing about that person.

    One statement: the rows matched by document are read once; only those whose person lies outside look
    up which of their documents matched.
    """
    if not documents:
        return 0
    inside = _inside(scope_paths)
    which = " OR ".join(f"(d.doc_type = '{column}' AND d.value = {S}.{column})" for column in documents)
    return _run(
        f"UPDATE {S} SET match_kind = '{OUTSIDE}' || (SELECT MIN(d.doc_type) FROM {DOCUMENT} d "
        f"WHERE d.individual_id = {S}.match_individual_id AND ({which})) "
        f"WHERE {S}.batch_id = %s AND {S}.{OK} AND {S}.match_kind = 'document' AND NOT EXISTS ("
        f"SELECT 1 FROM {INDIVIDUAL} i JOIN {LOCATION} l ON l.id = i.location_id "
        f"WHERE i.id = {S}.match_individual_id AND ({inside}))",
        [batch_id, *(f"{path}%" for path in scope_paths)],
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


HEAD, PRIMARY = "household_role = 'head'", "primary_recipient"
# Per household of the batch (its new rows): its heads, primary recipients and locations, and what the
# registry already holds for an existing household of that code.
HOUSEHOLD_FACTS = (
    f"SELECT household_code AS code, MIN(existing_household_id) AS existing, "
    f"SUM(CASE WHEN {HEAD} THEN 1 ELSE 0 END) AS heads, "
    f"MIN(CASE WHEN {HEAD} THEN row_number END) AS first_head, "
    f"MAX(CASE WHEN {HEAD} THEN row_number END) AS last_head, "
    f"MIN(CASE WHEN {HEAD} THEN location_code END) AS head_location, "
    f"MAX(CASE WHEN {HEAD} AND {PRIMARY} THEN 1 ELSE 0 END) AS head_primary, "
    f"SUM(CASE WHEN {PRIMARY} THEN 1 ELSE 0 END) AS primaries, "
    f"MIN(CASE WHEN NOT {HEAD} THEN location_code END) AS low_location, "
    f"MAX(CASE WHEN NOT {HEAD} THEN location_code END) AS high_location, "
    f"MIN(row_number) AS first_row, MAX(row_number) AS last_row "
    f"FROM {S} WHERE batch_id = %s AND status = '{RowStatus.NEW}' GROUP BY household_code"
)
# What the registry holds for an existing household: at most one current head and one primary recipient.
REGISTRY_FACTS = (
    f"CASE WHEN head.id IS NULL THEN 0 ELSE 1 END AS registry_head, "
    f"CASE WHEN payee.id IS NULL THEN 0 ELSE 1 END AS registry_primary "
    f"FROM ({HOUSEHOLD_FACTS}) g "
    f"LEFT JOIN {MEMBER} head ON head.household_id = g.existing AND head.end_date IS NULL AND head.role = 'head' "
    f"LEFT JOIN {MEMBER} payee ON payee.household_id = g.existing AND payee.end_date IS NULL "
    f"AND payee.is_primary_recipient"
)
# The head stands when it is the only one and no rule refuses it (a head already in the registry, or the
# head as one of several primary recipients, or as primary recipient beside one in the registry).
HEAD_STANDS = (
    "(heads = 1 AND registry_head = 0 AND NOT (head_primary = 1 AND (primaries > 1 OR registry_primary = 1)))"
)
# Each rule: which rows of a household with a problem it refuses, the column it names and its message, in the
# order the rules apply. `refused` marks the rows the first four rules refuse: they take no part in the last two.
HOUSEHOLD_RULES = (
    (
        "is_head = 1 AND heads > 1",
        "household_role",
        "'Household ' || code || ' has ' || heads || ' heads in this file (rows ' || first_head || ' to ' "
        "|| last_head || '); it must have exactly one.'",
    ),
    (
        "is_head = 1 AND registry_head = 1",
        "household_role",
        "'Household ' || code || ' already has a head in the registry.'",
    ),
    (
        "is_primary = 1 AND primaries > 1",
        "primary_recipient",
        "'Household ' || code || ' has ' || primaries || ' primary recipients in this file; it may have one.'",
    ),
    (
        "is_primary = 1 AND registry_primary = 1",
        "primary_recipient",
        "'Household ' || code || ' already has a primary recipient in the registry.'",
    ),
    (
        "refused = 0 AND existing IS NULL AND head_stands = 0",
        "household_code",
        "'Household ' || code || ' has no head: one of its rows must have household_role head (and no error).'",
    ),
    (
        "refused = 0 AND is_head = 0 AND head_stands = 1 AND location_code <> head_location",
        "location_code",
        "'Household ' || code || ' lives in ' || head_location || ' (its head''s row ' || first_head || '), not ' "
        "|| location_code || '.'",
    ),
)
PROBLEMS = "uploads_household_problems"
# Households usually sit on consecutive rows: when the households with a problem span few rows, their rows
# are read by row number through the index instead of scanning the batch.
INDEXED_SPAN = 100_000


@contextmanager
def _jit_off() -> Iterator[None]:
    """Without PostgreSQL's JIT for the statement inside (till the transaction's end if it fails): a loop
    over a few households is estimated at thousands of rows each, and compiling it took 1.4 s to save none."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        previous = cursor.fetchone()[0]
    yield
    _run("SELECT set_config('jit', %s, true)", [previous])


def _problem_rows(batch_id: int) -> str:
    """FROM ... JOIN giving the rows of the problem households as `p` (household) and `s` (row).

    When the problem households span few rows, PostgreSQL reads each one's row range through the
    (batch_id, row_number) index (LATERAL, kept apart by OFFSET 0, so that it stays a loop over the few
    households instead of a hash join scanning the batch); SQLite loops that way by itself.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(last_row - first_row + 1), 0) FROM {PROBLEMS}")
        span = cursor.fetchone()[0]
    if span > INDEXED_SPAN:
        return f"{PROBLEMS} p JOIN {S} s ON s.household_code = p.code"
    in_range = f"s.batch_id = {int(batch_id)} AND s.row_number BETWEEN p.first_row AND p.last_row"
    if connection.vendor != "postgresql":
        return f"{PROBLEMS} p JOIN {S} s ON {in_range} AND s.household_code = p.code"
    return (
        f"{PROBLEMS} p CROSS JOIN LATERAL (SELECT * FROM {S} s WHERE {in_range} "
        f"AND s.household_code = p.code OFFSET 0) s"
    )


def _households_outside_refuse(*, batch_id: int, scope_paths: list[str]) -> None:
    """New rows joining an existing household outside the uploader's area are errors that say only that the
    household code is registered: nobody adds people to (and resizes) a household they may not see."""
    since = _errors_watermark()
    if _error_insert(
        f"SELECT batch_id, row_number, 'household_code', REPLACE(%s, '{{code}}', household_code) FROM {S} "
        f"WHERE batch_id = %s AND status = '{RowStatus.NEW}' AND existing_household_id IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {HOUSEHOLD} h JOIN {LOCATION} l ON l.id = h.location_id "
        f"WHERE h.id = {S}.existing_household_id AND ({_inside(scope_paths)}))",
        [
            _("The household code {code} is already registered: this upload cannot add people to it."),
            batch_id,
            *(f"{path}%" for path in scope_paths),
        ],
    ):
        _errors_mark(batch_id, since=since)


def households_check(*, batch_id: int, plan: BenefitPlan, scope_paths: list[str] | None = None) -> None:
    """One head per household, at most one primary recipient, one location; existing households keep theirs.
    A household plan also needs every new person in a household. An existing household outside the
    uploader's area (`scope_paths`; None: everywhere) takes no one from the file.

    One aggregate over the batch gives each household's facts; the households that break a rule (usually
    none or few) go to a temporary table, and only then are the rows read again, to list their errors.
    """
    since = _errors_watermark()
    existing = _run(
        f"UPDATE {S} SET existing_household_id = h.id FROM {HOUSEHOLD} h "
        f"WHERE {S}.batch_id = %s AND {S}.status = '{RowStatus.NEW}' AND {S}.household_code <> '' AND h.code = {S}.household_code",
        [batch_id],
    )
    if existing and scope_paths is not None:
        _households_outside_refuse(batch_id=batch_id, scope_paths=scope_paths)
    broken = (
        "heads > 1 OR (heads > 0 AND registry_head = 1) OR primaries > 1 OR (primaries > 0 AND registry_primary = 1) "
        "OR (existing IS NULL AND head_stands = 0) "
        "OR (head_stands = 1 AND (low_location <> head_location OR high_location <> head_location))"
    )
    without_household = " OR code = ''" if plan.is_household else ""
    _run(f"DROP TABLE IF EXISTS {PROBLEMS}")
    _run(
        f"CREATE TEMPORARY TABLE {PROBLEMS} AS SELECT * FROM ("
        f"SELECT f.*, CASE WHEN {HEAD_STANDS} THEN 1 ELSE 0 END AS head_stands FROM ("
        f"SELECT g.*, {REGISTRY_FACTS}) f) p WHERE (code <> '' AND ({broken})){without_household}",
        [batch_id],
    )
    try:
        if not _exists(f"SELECT 1 FROM {PROBLEMS}"):
            return
        if connection.vendor == "postgresql":
            _run(f"ANALYZE {PROBLEMS}")  # its true size, so that the few households drive the join
        refused = (
            f"(s.{HEAD} AND (p.heads > 1 OR p.registry_head = 1)) "
            f"OR (s.{PRIMARY} AND (p.primaries > 1 OR p.registry_primary = 1))"
        )
        rows = (
            f"SELECT s.batch_id, s.row_number, s.location_code, p.*, CASE WHEN s.{HEAD} THEN 1 ELSE 0 END AS is_head, "
            f"CASE WHEN s.{PRIMARY} THEN 1 ELSE 0 END AS is_primary, CASE WHEN {refused} THEN 1 ELSE 0 END AS refused "
            f"FROM {_problem_rows(batch_id)} "
            f"WHERE s.batch_id = %s AND s.status = '{RowStatus.NEW}'"
        )
        selects = [
            f"SELECT batch_id, row_number, '{column}', {message} FROM r WHERE code <> '' AND {condition}"
            for condition, column, message in HOUSEHOLD_RULES
        ]
        params = [batch_id]
        if plan.is_household:
            selects.append(
                "SELECT batch_id, row_number, 'household_code', 'Plan ' || %s || ' enrols households: "
                "household_code is required.' FROM r WHERE code = ''"
            )
            params.append(plan.code)
        with _jit_off():
            inserted = _error_insert(f"WITH r AS ({rows}) {' UNION ALL '.join(selects)}", params)
        if inserted:
            _errors_mark(batch_id, since=since)
    finally:
        _run(f"DROP TABLE {PROBLEMS}")


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
