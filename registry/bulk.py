"""The registry's bulk writes: many people and households at once, set-based, from a relation the caller
hands over.

This module is the only code that writes registry tables in bulk (the demo generator's COPY writer aside, in
`registry/bulk_copy.py`); uploads, intake and the coming duplicate merge call it. A caller gives a *source*:
one SELECT (and its parameters) whose rows follow the column contract below, e.g. a view of its staging table.
Each table is written by one statement over the whole source (INSERT ... SELECT, UPDATE ... FROM): never a
Python loop over rows. The household rules (`registry/rules.py`) are checked on the source first.

Column contract of `people_create` (one row per new person):

    row_number            integer, unique in the source; refusals name it; new ids follow its order
    household_key         text: the household's code ('' for a person in no household)
    household_id          the existing household of that code (`registry.matching.households_existing`),
                          NULL for a household this source creates (its head's row gives location and data)
    role                  a HouseholdRole value ('' without a household)
    is_primary_recipient  boolean: designated primary recipient (else the rules' default: the head)
    given_name, family_name, other_names, sex, birth_date (NULL), birth_date_estimated, phone, location_id
    data                  JSON text of the person's custom fields (checked by the caller against the schema)
    household_data        JSON text of the household's custom fields (read from the head's row)
    <document type>       one text column per DocumentType value named in `documents`: the number or ''

Column contract of `people_update` (one row per existing person, found by `registry.matching`):

    row_number, individual_id, given_name, family_name, sex, birth_date_estimated, location_id  (replace)
    other_names, phone ('' keeps the stored value), birth_date (NULL keeps it)
    data                  JSON text merged into the stored custom fields
    <document type>       a number adds a document of a type the person does not hold yet

How it stays fast at a million rows (measured in bench/README.md):
- new people's ids are reserved as one block of the sequence spanning the source's first to last row, so the
  person of row r is individual `r + id_offset`: documents and memberships refer to people without writing
  ids back, and the caller computes them the same way (e.g. for enrolment);
- every reference written is a database FK constraint (registry 0008). PostgreSQL checks those with one
  lookup per row (a trigger), a quarter of the commit's time at a million rows: `people_create` writes its
  rows without the per-row triggers where the role may (`session_replication_role = replica` for its own
  statements: a superuser, or `GRANT SET ON PARAMETER session_replication_role TO <role>` on PostgreSQL 15+),
  then checks the references of the rows it wrote in a few anti-joins (`_references_verify`); elsewhere, and
  for the other writes, the checks stay deferred, as Django creates them, and run together at the end (SET
  CONSTRAINTS ... IMMEDIATE, `foreign_keys_check`: a quarter less CPU than at each statement's end); each
  statement writes in its parents' key order (people follow the rows, households and memberships too), so
  the checks and the index inserts walk the keys in order;
- what could fail those checks is refused before, naming the rows (`BulkRefused`): the locations the rows
  name are locked (FOR KEY SHARE) and those deleted meanwhile refused, people and households deleted since
  the caller matched them are counted.

Moves and merges of people between households come later: they belong here, as `members_move(source)` and
`individuals_merge(source)` over the same kind of source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.utils import timezone

from registry import rules
from registry.models import (
    DocumentType,
    Household,
    HouseholdMember,
    IdentityDocument,
    Individual,
    IndividualStatus,
    Location,
    RegistrationSource,
)

INDIVIDUAL = Individual._meta.db_table
HOUSEHOLD = Household._meta.db_table
MEMBER = HouseholdMember._meta.db_table
DOCUMENT = IdentityDocument._meta.db_table
LOCATION = Location._meta.db_table
HISTORY = Individual.history.model._meta.db_table
DOCUMENT_TYPES = tuple(DocumentType.values)
WRITTEN_TABLES = (HOUSEHOLD, INDIVIDUAL, DOCUMENT, MEMBER)


@dataclass(frozen=True)
class Source:
    """A relation handed over by a caller: one SELECT and its parameters (the module's column contracts)."""

    sql: str
    params: Sequence[Any] = ()

    def relation(self, alias: str) -> str:
        return f"({self.sql}) {alias}"


class BulkRefused(ValidationError):
    """A bulk write refused before anything was stored: `reason` says why, `rows` the first offending row
    numbers, `count` how many (rows, people, locations: by reason). The caller words it for its users."""

    def __init__(self, message: str, *, reason: str, count: int, rows: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.reason, self.count, self.rows = reason, count, list(rows)


@dataclass
class PeopleCreated:
    households: int = 0
    individuals: int = 0
    documents: int = 0
    members: int = 0
    id_offset: int = 0  # the person of row r is individual r + id_offset
    first_individual_id: int = 0
    last_individual_id: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def _no_step(message: str) -> None:
    pass


def run(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params: Sequence[Any] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def json_value(expression: str) -> str:
    return f"CAST({expression} AS jsonb)" if connection.vendor == "postgresql" else expression


def _json_merge(current: str, change: str) -> str:
    if connection.vendor == "postgresql":
        return f"{current} || CAST({change} AS jsonb)"
    return f"json_patch({current}, {change})"


def _documents(documents: Sequence[str]) -> list[str]:
    return [column for column in documents if column in DOCUMENT_TYPES]


def individual_ids_reserve(count: int) -> int:
    """Reserve `count` consecutive ids for new individuals; return the first."""
    if count == 0:
        return 0
    if connection.vendor == "postgresql":
        # One statement keeps the window tiny; a concurrent insert landing in it breaks the
        # primary key, and the whole write then fails (IntegrityError) with nothing stored.
        last = scalar(
            f"SELECT setval(pg_get_serial_sequence('{INDIVIDUAL}', 'id'), "
            f"nextval(pg_get_serial_sequence('{INDIVIDUAL}', 'id')) + %s - 1)",
            [count],
        )
        return int(last) - count + 1
    return int(scalar(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {INDIVIDUAL}"))


def foreign_keys_check(tables: Sequence[str] = WRITTEN_TABLES) -> None:
    """Check, now, the deferred FK constraints of the rows written to `tables` (a failure is then the bulk
    write's error, not the outer transaction's COMMIT's); later writes of the transaction are deferred
    again."""
    if connection.vendor != "postgresql":
        connection.check_constraints(table_names=list(tables))
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable AND conrelid IN "
            f"({', '.join('%s::regclass' for _table in tables)})",
            list(tables),
        )
        names = ", ".join(connection.ops.quote_name(row[0]) for row in cursor.fetchall())
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def locations_lock(*sources: Source) -> None:
    """Lock the locations the sources' rows name until the transaction ends; refuse, by row, any deleted
    since the caller resolved them (a constraint error would name no row)."""
    union = " UNION ".join(f"SELECT r.location_id FROM {source.relation('r')}" for source in sources)
    params = [param for source in sources for param in source.params]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT location_id FROM ({union}) u", params)
        named = {row[0] for row in cursor.fetchall()}
        if not named:
            return
        ids = sorted(named)
        lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
        cursor.execute(f"SELECT id FROM {LOCATION} WHERE id IN ({', '.join(['%s'] * len(ids))}){lock}", ids)
        gone = sorted(named - {row[0] for row in cursor.fetchall()})
        if not gone:
            return
        marks = ", ".join(["%s"] * len(gone))
        rows_union = " UNION ALL ".join(
            f"SELECT r.row_number FROM {source.relation('r')} WHERE r.location_id IN ({marks})"
            for source in sources
        )
        rows_params = [param for source in sources for param in (*source.params, *gone)]
        cursor.execute(f"SELECT row_number FROM ({rows_union}) u ORDER BY row_number LIMIT 5", rows_params)
        rows = [row[0] for row in cursor.fetchall()]
    raise BulkRefused(
        f"{len(gone)} of the locations named were deleted from the registry "
        f"(rows {', '.join(map(str, rows))}).",
        reason="locations_gone",
        count=len(gone),
        rows=rows,
    )


def _individual_history(
    *,
    source: Source,
    date_sql: str,
    reason: str,
    user_id: int | None,
    only_without_history: bool,
    params: list,
) -> int:
    """simple-history rows, set-based, for the people the source updates (as they are now)."""
    fields = [field.column for field in Individual._meta.concrete_fields]
    without = f"AND NOT EXISTS (SELECT 1 FROM {HISTORY} h WHERE h.id = i.id)" if only_without_history else ""
    return run(
        f"INSERT INTO {HISTORY} ({', '.join(fields)}, history_date, history_change_reason, "
        f"history_type, history_user_id) "
        f"SELECT {', '.join(f'i.{column}' for column in fields)}, {date_sql}, %s, %s, %s FROM {INDIVIDUAL} i "
        f"WHERE i.id IN (SELECT r.individual_id FROM {source.relation('r')}) {without}",
        [*params, reason[:100], "~", user_id, *source.params],
    )


def people_update(
    *,
    source: Source,
    documents: Sequence[str] = (),
    expected: int | None = None,
    reason_before: str,
    reason_after: str,
    user_id: int | None = None,
) -> dict[str, int]:
    """Update existing people from the source (contract: module docstring), with history rows before (when
    nothing recorded their state yet, e.g. they came from an earlier bulk write) and after, as an edit in the
    admin gives them. `expected`: the rows the caller counted (None: counted here); people deleted since the
    caller matched them are refused (`BulkRefused`, reason "people_gone")."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if expected is None:
        expected = int(scalar(f"SELECT COUNT(*) FROM {source.relation('r')}", source.params))
    if not expected:
        return {"updated": 0, "documents": 0}
    _individual_history(
        source=source,
        date_sql="i.updated_at",
        reason=reason_before,
        user_id=None,
        only_without_history=True,
        params=[],
    )
    updated = run(
        f"UPDATE {INDIVIDUAL} SET given_name = s.given_name, family_name = s.family_name, "
        f"other_names = CASE WHEN s.other_names <> '' THEN s.other_names ELSE {INDIVIDUAL}.other_names END, "
        f"sex = s.sex, birth_date = COALESCE(s.birth_date, {INDIVIDUAL}.birth_date), "
        f"birth_date_estimated = s.birth_date_estimated, "
        f"phone = CASE WHEN s.phone <> '' THEN s.phone ELSE {INDIVIDUAL}.phone END, "
        f"location_id = s.location_id, "
        f"data = {_json_merge(f'{INDIVIDUAL}.data', 's.data')}, updated_at = %s "
        f"FROM {source.relation('s')} WHERE {INDIVIDUAL}.id = s.individual_id",
        [now, *source.params],
    )
    if updated != expected:
        raise BulkRefused(
            f"{expected - updated:,} of the people to update were deleted from the registry.",
            reason="people_gone",
            count=expected - updated,
        )
    _individual_history(
        source=source,
        date_sql="%s",
        reason=reason_after,
        user_id=user_id,
        only_without_history=False,
        params=[now],
    )
    added = 0
    for column in _documents(documents):
        # A person gains the documents of a type they did not hold yet.
        added += run(
            f"INSERT INTO {DOCUMENT} (individual_id, doc_type, value) SELECT s.individual_id, %s, s.{column} "
            f"FROM {source.relation('s')} WHERE s.{column} <> '' "
            f"AND NOT EXISTS (SELECT 1 FROM {DOCUMENT} d WHERE d.doc_type = %s "
            f"AND (d.individual_id = s.individual_id OR d.value = s.{column}))",
            [column, *source.params, column],
        )
    return {"updated": updated, "documents": added}


def _rows_span(source: Source) -> tuple[int, int, int]:
    """The source's first and last row numbers and its count of rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(row_number), MAX(row_number), COUNT(*) FROM {source.relation('r')}", source.params
        )
        first, last, count = cursor.fetchone()
    return (first, last, count) if first is not None else (0, -1, 0)


def households_lock(source: Source) -> None:
    """Lock against deletion, until the transaction ends, the existing households the source's rows join."""
    if connection.vendor == "postgresql":
        run(
            f"SELECT 1 FROM {HOUSEHOLD} WHERE id IN (SELECT r.household_id FROM {source.relation('r')} "
            f"WHERE r.household_id IS NOT NULL) FOR KEY SHARE",
            source.params,
        )


def row_triggers_skippable() -> bool:
    """Whether this connection may write without PostgreSQL's per-row triggers (its FK checks among them):
    the role is a superuser, or was granted `SET ON PARAMETER session_replication_role` (PostgreSQL 15+)."""
    if connection.vendor != "postgresql":
        return False
    if scalar("SELECT current_setting('is_superuser')") == "on":
        return True
    return connection.pg_version >= 150000 and bool(
        scalar("SELECT has_parameter_privilege('session_replication_role', 'SET')")
    )


@contextmanager
def _row_triggers_off(enabled: bool) -> Iterator[None]:
    """The rows written inside queue no per-row trigger (`session_replication_role = replica` till the block
    ends, and at most till the transaction's end: a failure inside leaves it to the rollback); the writer
    checks those rows' references itself, set-based (`_references_verify`)."""
    if not enabled:
        yield
        return
    previous = scalar("SELECT current_setting('session_replication_role')")
    run("SELECT set_config('session_replication_role', 'replica', true)")
    try:
        yield
    except DatabaseError:
        raise  # the transaction is aborted: its rollback ends the setting
    except BaseException:
        # A refusal a caller might catch and go on from: its later writes fire their triggers again.
        run("SELECT set_config('session_replication_role', %s, true)", [previous])
        raise
    run("SELECT set_config('session_replication_role', %s, true)", [previous])


def _references_verify(*, first_id: int, last_id: int, households_after: int) -> None:
    """The references `people_create` wrote without the per-row triggers, checked set-based over its own rows:
    people's and new households' locations, memberships' households. Documents and memberships refer to the
    people of the same statement's rows (`first_id` to `last_id`, all written: counted)."""
    for table, column, parent, rows, params in (
        (INDIVIDUAL, "location_id", LOCATION, "c.id BETWEEN %s AND %s", [first_id, last_id]),
        (HOUSEHOLD, "location_id", LOCATION, "c.id > %s", [households_after]),
        (MEMBER, "household_id", HOUSEHOLD, "c.individual_id BETWEEN %s AND %s", [first_id, last_id]),
    ):
        orphans = int(
            scalar(
                f"SELECT COUNT(*) FROM {table} c WHERE {rows} "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})",
                params,
            )
        )
        if orphans:
            raise BulkRefused(
                f"{orphans:,} new rows of {table} refer to no row of {parent} ({column}).",
                reason="references",
                count=orphans,
            )


def people_create(
    *,
    source: Source,
    documents: Sequence[str] = (),
    registration_source: str = RegistrationSource.UPLOAD,
    expected: int | None = None,
    step: Callable[[str], None] | None = None,
) -> PeopleCreated:
    """Create the source's people (contract: module docstring) with their households (new codes), identity
    documents, memberships and household sizes, after the household rules; inside the caller's transaction.

    The caller has locked the locations (`locations_lock`) and, when it also updates people, run
    `people_update` first (on SQLite a new person may otherwise take the id of someone deleted since).
    Refusals raise `BulkRefused` with the offending rows; `foreign_keys_check` ends the caller's writes.
    `step(message)` is told each table's turn (a progress bar).
    """
    # Long on purpose: one statement per table in the order the FK checks need, inside one transaction; split,
    # the order and the shared id block would be spread over helpers that only make sense in this sequence.
    step = step or _no_step
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    today = date.today().isoformat()
    documents = _documents(documents)
    created = PeopleCreated()
    first_row, last_row, count = _rows_span(source)
    if expected is not None and expected != count:
        raise RuntimeError(f"{count} rows in the source for {expected} expected")
    if not count:
        return created
    rules.household_rows_refuse(source)
    households_lock(source)

    relation = source.relation("s")
    # Without per-row FK triggers where the role may (their checks: a quarter of the commit's time at 1M
    # rows), the references then checked set-based; rows go in their parents' key order (sequential index
    # inserts).
    triggers_off = row_triggers_skippable()
    households_after = int(scalar(f"SELECT COALESCE(MAX(id), 0) FROM {HOUSEHOLD}")) if triggers_off else 0
    with _row_triggers_off(triggers_off):
        step("Creating households")
        created.households = run(
            f"INSERT INTO {HOUSEHOLD} (code, location_id, address, data, size, registration_date, "
            f"created_at, updated_at) SELECT s.household_key, s.location_id, '', "
            f"{json_value('s.household_data')}, g.n, %s, %s, %s "
            f"FROM {relation} JOIN (SELECT r.household_key, COUNT(*) AS n FROM {source.relation('r')} "
            f"WHERE r.household_key <> '' GROUP BY r.household_key) g ON g.household_key = s.household_key "
            f"WHERE s.role = 'head' AND s.household_id IS NULL ORDER BY s.row_number",
            [today, now, now, *source.params, *source.params],
        )

        step("Creating individuals")
        first_id = individual_ids_reserve(last_row - first_row + 1)
        created.id_offset = first_id - first_row
        created.first_individual_id = first_id
        created.last_individual_id = first_id + last_row - first_row
        rows_sql = f"SELECT s.*, s.row_number + %s AS iid FROM {relation}"
        rows_params = [created.id_offset, *source.params]
        created.individuals = run(
            f"INSERT INTO {INDIVIDUAL} (id, given_name, family_name, other_names, sex, birth_date, "
            f"birth_date_estimated, phone, location_id, registration_date, registration_source, status, "
            f"data, created_at, updated_at) "
            f"SELECT x.iid, x.given_name, x.family_name, x.other_names, x.sex, x.birth_date, "
            f"x.birth_date_estimated, "
            f"x.phone, x.location_id, %s, %s, %s, {json_value('x.data')}, %s, %s FROM ({rows_sql}) x",
            [today, registration_source, IndividualStatus.ACTIVE, now, now, *rows_params],
        )
        if created.individuals != count:
            raise RuntimeError(f"{created.individuals} individuals written for {count} rows")

        step("Recording identity documents")
        if documents:
            union = " UNION ALL ".join(
                f"SELECT iid, '{column}', {column} FROM x WHERE {column} <> ''" for column in documents
            )
            created.documents = run(
                f"WITH x AS ({rows_sql}) INSERT INTO {DOCUMENT} (individual_id, doc_type, value) {union}",
                rows_params,
            )

        step("Adding household members")
        primary, primary_params = rules.primary_recipient_sql(row="x", source=source)
        created.members = run(
            f"INSERT INTO {MEMBER} (household_id, individual_id, role, is_primary_recipient, start_date, "
            f"end_date) "
            f"SELECT h.id, x.iid, x.role, {primary}, %s, NULL FROM ({rows_sql}) x "
            f"JOIN {HOUSEHOLD} h ON h.code = x.household_key WHERE x.household_key <> '' ORDER BY x.iid",
            [*primary_params, today, *rows_params],
        )
    expected_members = int(
        scalar(f"SELECT COUNT(*) FROM {source.relation('r')} WHERE r.household_key <> ''", source.params)
    )
    if created.members != expected_members:
        raise BulkRefused(
            f"{expected_members - created.members:,} people join households that were deleted from the "
            "registry.",
            reason="households_gone",
            count=expected_members - created.members,
        )
    if triggers_off:
        _references_verify(
            first_id=created.first_individual_id,
            last_id=created.last_individual_id,
            households_after=households_after,
        )
    run(
        f"UPDATE {HOUSEHOLD} SET size = c.n FROM ({rules.current_members_count_sql()} AND m.household_id IN "
        f"(SELECT r.household_id FROM {source.relation('r')} WHERE r.household_id IS NOT NULL) "
        f"GROUP BY m.household_id) c WHERE {HOUSEHOLD}.id = c.household_id",
        source.params,
    )
    return created
