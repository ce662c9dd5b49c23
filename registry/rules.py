"""The household rules, in one place, for the single services (`registry.services`) and the bulk writes
(`registry.bulk`, through which uploads, intake and merges write):

1. one head: a household has at most one current head; one registered with its members has exactly one;
2. one primary recipient: at most one current member receives the payments; the head is the primary recipient
   unless another member is designated (when the head joins a household where nobody is designated yet);
3. size = the number of current members, derived, never typed;
4. one current household per person (also kept by the database: `member_one_household`).

Members registered together with their household live at its location (the head's, in a bulk source).
The single services check the rules in Python on one household; the bulk writes check them on a whole source
in a few set-based statements and refuse with the offending row numbers.
`tests/registry/test_household_rules.py` runs the same cases through both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from registry.models import Household, HouseholdMember, HouseholdRole, Location

if TYPE_CHECKING:
    from registry.bulk import Source

HOUSEHOLD = Household._meta.db_table
MEMBER = HouseholdMember._meta.db_table
LOCATION = Location._meta.db_table
HEAD = HouseholdRole.HEAD.value


# --- one household at a time (registry.services) ------------------------------------------------------


def primary_recipient_default(*, role: str, designated: bool | None, household_has_primary: bool) -> bool:
    """Rule 2: a designated member is the primary recipient; else the head, when nobody is yet."""
    if designated:
        return True
    return role == HEAD and not household_has_primary


def member_checks(
    *, household: Household, role: str, is_primary_recipient: bool, exclude_pk: int | None = None
) -> None:
    """Rules 1 and 2 for one member joining (or changing within) an existing household."""
    errors: dict[str, list[str]] = {}
    if role not in HouseholdRole.values:
        errors["role"] = [
            _("%(role)r is not a household role (%(roles)s).")
            % {"role": role, "roles": ", ".join(HouseholdRole.values)}
        ]
    current = HouseholdMember.objects.filter(household=household, end_date__isnull=True).select_related(
        "individual"
    )
    if exclude_pk:
        current = current.exclude(pk=exclude_pk)
    if role == HEAD:
        head = current.filter(role=HEAD).first()
        if head:
            errors.setdefault("role", []).append(
                _("%(person)s is already the head of household %(household)s.")
                % {"person": head.individual, "household": household}
            )
    if is_primary_recipient:
        recipient = current.filter(is_primary_recipient=True).first()
        if recipient:
            errors.setdefault("is_primary_recipient", []).append(
                _("%(person)s is already the primary recipient of household %(household)s.")
                % {"person": recipient.individual, "household": household}
            )
    if errors:
        raise ValidationError(errors)


def new_household_members_check(*, code: str, members: Sequence[tuple[Any, str, bool, Any]]) -> None:
    """Rules 1 and 2 (and the location) for a household registered with its members, given as
    (individual, role, designated primary recipient, location): the same refusals as a bulk source."""
    errors: dict[str, list[str]] = {}
    for _household, field, message in memberships_rule_problems(
        [(code, code)], [(code, role, designated) for _individual, role, designated, _location in members]
    ):
        errors[field] = [message]
    heads = [member for member in members if member[1] == HEAD]
    if len(heads) == 1 and any(member[3] != heads[0][3] for member in members):
        errors["location"] = [
            _("Household %(code)s lives where its head lives (%(location)s): so must its members.")
            % {"code": code, "location": heads[0][3]}
        ]
    if errors:
        raise ValidationError(errors)


def members_primary(members: Iterable[tuple[Any, str, bool, Any]]) -> list[bool]:
    """Rule 2 over a new household's members: the designated one, else the head."""
    members = list(members)
    designated = any(member[2] for member in members)
    return [
        primary_recipient_default(role=role, designated=primary, household_has_primary=designated)
        for _individual, role, primary, _location in members
    ]


# --- new households held in memory, a chunk at a time (registry.bulk_copy, new_household_members_check) --


def heads_problem(code: Any, heads: int) -> str | None:
    """Rule 1 for a new household with `heads` current heads: its message, or None when it has exactly one."""
    if heads == 1:
        return None
    if not heads:
        return _("Household %(code)s has no head: one of its members must have the role head.") % {
            "code": code
        }
    return _("Household %(code)s has %(heads)s heads; it must have exactly one.") % {
        "code": code,
        "heads": heads,
    }


def primaries_problem(code: Any, primaries: int) -> str | None:
    """Rule 2 for a household with `primaries` current primary recipients: its message, or None."""
    if primaries <= 1:
        return None
    return _("Household %(code)s has %(count)s primary recipients; it may have one.") % {
        "code": code,
        "count": primaries,
    }


def memberships_follow_rules(
    households: Collection[Any], memberships: Sequence[tuple[Any, str, bool]]
) -> bool:
    """Rules 1 and 2 over new households (their keys) and their current memberships, given as (household
    key, role, primary recipient): True when each household has exactly one head and at most one primary
    recipient. Set operations only, for a chunk of 100,000 rows; `memberships_rule_problems` says what."""
    heads = [membership[0] for membership in memberships if membership[1] == HEAD]
    if len(heads) != len(households) or set(heads) != set(households):
        return False
    primaries = [membership[0] for membership in memberships if membership[2]]
    return len(primaries) == len(set(primaries))


def memberships_rule_problems(
    households: Iterable[tuple[Any, Any]], memberships: Iterable[tuple[Any, str, bool]]
) -> list[tuple[Any, str, str]]:
    """Rules 1 and 2 over new households, given as (key, code), and their current memberships, given as
    (household key, role, primary recipient): each problem as (household key, field, message), in the
    households' order (a household's head problem before its primary recipient one)."""
    heads: Counter[Any] = Counter()
    primaries: Counter[Any] = Counter()
    for household, role, primary in memberships:
        if role == HEAD:
            heads[household] += 1
        if primary:
            primaries[household] += 1
    problems: list[tuple[Any, str, str]] = []
    for household, code in households:
        message = heads_problem(code, heads[household])
        if message:
            problems.append((household, "role", message))
        message = primaries_problem(code, primaries[household])
        if message:
            problems.append((household, "is_primary_recipient", message))
    return problems


# --- a whole source at once (registry.bulk) -----------------------------------------------------------

_IS_HEAD, _IS_PRIMARY = f"r.role = '{HEAD}'", "r.is_primary_recipient"


def current_members_count_sql() -> str:
    """Rule 3: `SELECT household_id, n` of current members; the caller adds `AND ...` and `GROUP BY`."""
    return f"SELECT m.household_id, COUNT(*) AS n FROM {MEMBER} m WHERE m.end_date IS NULL"


def primary_recipient_sql(*, row: str, source: Source) -> tuple[str, list[Any]]:
    """Rule 2 as a boolean SQL expression over the source row `row` (and its params): the designated member;
    else the head, when no row of its household is designated and no current member of an existing one is."""
    return (
        f"CASE WHEN {row}.is_primary_recipient THEN TRUE "
        f"WHEN {row}.role = '{HEAD}' AND {row}.household_key NOT IN "
        f"(SELECT p.household_key FROM {source.relation('p')} WHERE p.is_primary_recipient) "
        f"AND ({row}.household_id IS NULL OR NOT EXISTS (SELECT 1 FROM {MEMBER} pm "
        f"WHERE pm.household_id = {row}.household_id AND pm.end_date IS NULL AND pm.is_primary_recipient)) "
        f"THEN TRUE ELSE FALSE END",
        list(source.params),
    )


def _household_facts(source: Source, *, by_code: bool = False) -> str:
    """Per household of the source: its heads, designated primary recipients and locations (the head's,
    the others' lowest and highest), and what the registry holds for an existing household (at most one
    current head and one primary recipient).

    The existing household is the source's `household_id`; `by_code`: the registered household of that code
    (the source's `household_id` unread), and the rows without a code form one group of code '' too.
    """
    existing = "" if by_code else "MIN(r.household_id) AS existing, "
    coded = "" if by_code else " WHERE r.household_key <> ''"
    facts = (
        f"SELECT r.household_key AS code, {existing}"
        f"SUM(CASE WHEN {_IS_HEAD} THEN 1 ELSE 0 END) AS heads, "
        f"MIN(CASE WHEN {_IS_HEAD} THEN r.row_number END) AS first_head, "
        f"MAX(CASE WHEN {_IS_HEAD} THEN r.row_number END) AS last_head, "
        f"MIN(CASE WHEN {_IS_HEAD} THEN r.location_id END) AS head_location, "
        f"MAX(CASE WHEN {_IS_HEAD} AND {_IS_PRIMARY} THEN 1 ELSE 0 END) AS head_primary, "
        f"SUM(CASE WHEN {_IS_PRIMARY} THEN 1 ELSE 0 END) AS primaries, "
        f"MIN(CASE WHEN NOT {_IS_HEAD} THEN r.location_id END) AS low_location, "
        f"MAX(CASE WHEN NOT {_IS_HEAD} THEN r.location_id END) AS high_location, "
        f"MIN(r.row_number) AS first_row, MAX(r.row_number) AS last_row "
        f"FROM {source.relation('r')}{coded} GROUP BY r.household_key"
    )
    if by_code:
        facts = (
            f"SELECT c.*, hh.id AS existing FROM ({facts}) c "
            f"LEFT JOIN {HOUSEHOLD} hh ON hh.code = c.code AND c.code <> ''"
        )
    # Per existing household, through the partial unique indexes; a household new to the registry reads none.
    # OFFSET 0 keeps the caller's conditions from copying the lookups into each use of their columns (eight
    # copies made the plan look costly enough for PostgreSQL's JIT: 8 s of compiling for 0.3 s of work).
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    return (
        f"SELECT g.*, CASE WHEN g.existing IS NOT NULL AND EXISTS (SELECT 1 FROM {MEMBER} head "
        f"WHERE head.household_id = g.existing AND head.end_date IS NULL AND head.role = '{HEAD}') "
        f"THEN 1 ELSE 0 END AS registry_head, "
        f"CASE WHEN g.existing IS NOT NULL AND EXISTS (SELECT 1 FROM {MEMBER} payee "
        f"WHERE payee.household_id = g.existing AND payee.end_date IS NULL AND payee.is_primary_recipient) "
        f"THEN 1 ELSE 0 END AS registry_primary FROM ({facts}) g{fence}"
    )


# The head stands when it is the only one and no rule refuses it (a head already in the registry, or the
# head as one of several primary recipients, or as primary recipient beside one in the registry).
HEAD_STANDS = (
    "(heads = 1 AND registry_head = 0 AND NOT (head_primary = 1 AND (primaries > 1 OR registry_primary = 1)))"
)
BROKEN = (
    "heads > 1 OR (heads > 0 AND registry_head = 1) OR primaries > 1 "
    "OR (primaries > 0 AND registry_primary = 1) "
    "OR (existing IS NULL AND head_stands = 0) "
    "OR (head_stands = 1 AND (low_location <> head_location OR high_location <> head_location))"
)


def _rules(among: str) -> tuple[tuple[str, str, str], ...]:
    """Each rule: which rows of a household with a problem it refuses, the contract column it names and its
    message (SQL), in the order the rules apply. `refused` marks the rows the first four rules refuse: they
    take no part in the last two. `among` says where the rows come from ("in this file")."""
    among = among.replace("'", "''").replace("%", "%%")
    return (
        (
            "is_head = 1 AND heads > 1",
            "role",
            f"'Household ' || code || ' has ' || heads || ' heads {among} (rows ' || first_head || ' to ' "
            "|| last_head || '); it must have exactly one.'",
        ),
        (
            "is_head = 1 AND registry_head = 1",
            "role",
            "'Household ' || code || ' already has a head in the registry.'",
        ),
        (
            "is_primary = 1 AND primaries > 1",
            "is_primary_recipient",
            f"'Household ' || code || ' has ' || primaries || ' primary recipients {among}; "
            "it may have one.'",
        ),
        (
            "is_primary = 1 AND registry_primary = 1",
            "is_primary_recipient",
            "'Household ' || code || ' already has a primary recipient in the registry.'",
        ),
        (
            "refused = 0 AND existing IS NULL AND head_stands = 0",
            "household_key",
            "'Household ' || code || ' has no head: one of its rows must have the role head (and no error).'",
        ),
        (
            "refused = 0 AND is_head = 0 AND head_stands = 1 AND location_id <> head_location",
            "location_id",
            "'Household ' || code || ' lives in ' || head_location_code || ' (its head''s row ' "
            "|| first_head "
            "|| '), not ' || location_code || '.'",
        ),
    )


PROBLEMS = "registry_household_problems"
# Households usually sit on consecutive rows: when the households with a problem span few rows, their rows
# are read by row number (through the caller's index) instead of scanning the whole source.
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
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, true)", [previous])


def _problem_rows(source: Source) -> str:
    """FROM ... JOIN giving the rows of the problem households as `p` (household) and `s` (row).

    When the problem households span few rows, PostgreSQL reads each one's row range through the caller's
    index on row_number (LATERAL, kept apart by OFFSET 0, so that it stays a loop over the few households
    instead of a hash join scanning the source); SQLite loops that way by itself.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(last_row - first_row + 1), 0) FROM {PROBLEMS} WHERE {REFUSING}")
        span = cursor.fetchone()[0]
    refusing = f"(SELECT * FROM {PROBLEMS} WHERE {REFUSING}) p"
    if span > INDEXED_SPAN or connection.vendor != "postgresql":
        in_range = "" if span > INDEXED_SPAN else " AND s.row_number BETWEEN p.first_row AND p.last_row"
        return f"{refusing} JOIN {source.relation('s')} ON s.household_key = p.code{in_range}"
    return (
        f"{refusing} CROSS JOIN LATERAL (SELECT * FROM {source.relation('s')} "
        f"WHERE s.row_number BETWEEN p.first_row AND p.last_row AND s.household_key = p.code OFFSET 0) s"
    )


# The households whose rows the rules refuse: broken, and not set aside by the caller.
REFUSING = "broken = 1 AND set_aside = 0"


@contextmanager
def household_problems(source: Source, *, by_code: bool = False, keep: str = "") -> Iterator[str]:
    """One aggregate over the source (contract of `registry.bulk`) gives each household's facts; the temporary
    table named (`PROBLEMS`) holds, while the block runs, those that break rules 1, 2 or the location
    (`broken` = 1: usually none or few) and those `keep` (an SQL condition over the facts) names, each with
    `first_row`/`last_row` (its rows' span), `existing` (its registered id) and `set_aside` (0; a household
    the caller sets to 1 takes no part in `problem_refusals`). `by_code`: see `_household_facts`.
    """
    broken = f"CASE WHEN code <> '' AND ({BROKEN}) THEN 1 ELSE 0 END"
    kept = f" OR {keep}" if keep else ""
    with _jit_off(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PROBLEMS}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {PROBLEMS} AS SELECT * FROM (SELECT h.*, {broken} AS broken, "
            f"0 AS set_aside FROM (SELECT f.*, CASE WHEN {HEAD_STANDS} THEN 1 ELSE 0 END AS head_stands "
            f"FROM ({_household_facts(source, by_code=by_code)}) f) h) p WHERE broken = 1{kept}",
            list(source.params),
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {PROBLEMS}")  # its true size, so that the few households drive the joins
    try:
        yield PROBLEMS
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {PROBLEMS}")


def problem_refusals(
    source: Source, *, consume: Callable[[str, list[Any]], int], among: str = "among these rows"
) -> int:
    """Inside `household_problems(source)`: the rows its broken households' rules refuse. `consume(sql,
    params)` receives a SELECT of them, (row_number, column, message), e.g. to insert them into the caller's
    error table; it returns how many it took. Returns that count (0: none, and no row was read)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {PROBLEMS} WHERE {REFUSING} LIMIT 1")
        if cursor.fetchone() is None:
            return 0
    refused = (
        f"(s.role = '{HEAD}' AND (p.heads > 1 OR p.registry_head = 1)) "
        "OR (s.is_primary_recipient AND (p.primaries > 1 OR p.registry_primary = 1))"
    )
    rows = (
        f"SELECT s.row_number, s.location_id, p.*, "
        f"CASE WHEN s.role = '{HEAD}' THEN 1 ELSE 0 END AS is_head, "
        f"CASE WHEN s.is_primary_recipient THEN 1 ELSE 0 END AS is_primary, "
        f"CASE WHEN {refused} THEN 1 ELSE 0 END AS refused, "
        f"(SELECT l.code FROM {LOCATION} l WHERE l.id = s.location_id) AS location_code, "
        f"(SELECT l.code FROM {LOCATION} l WHERE l.id = p.head_location) AS head_location_code "
        f"FROM {_problem_rows(source)}"
    )
    selects = " UNION ALL ".join(
        f"SELECT row_number, '{column}' AS field, {message} AS message FROM r WHERE {condition}"
        for condition, column, message in _rules(among)
    )
    with _jit_off():
        return consume(f"WITH r AS ({rows}) {selects}", list(source.params))


def household_refusals(
    source: Source, *, consume: Callable[[str, list[Any]], int], among: str = "among these rows"
) -> int:
    """Rules 1 and 2, and the location, over the source's households (contract of `registry.bulk`): the
    households that break a rule (usually none or few) are found in one aggregate, and only then are their
    rows read again (`problem_refusals`)."""
    with household_problems(source):
        return problem_refusals(source, consume=consume, among=among)


def household_rows_refuse(source: Source) -> None:
    """Refuse the whole source when a row breaks a household rule (`BulkRefused`, reason "household_rules",
    naming the first rows and their messages)."""
    from registry.bulk import BulkRefused

    found: list[tuple[int, str, str]] = []

    def collect(sql: str, params: list[Any]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT row_number, field, message FROM ({sql}) x ORDER BY row_number", params)
            found.extend(cursor.fetchall())
        return len(found)

    if household_refusals(source, consume=collect):
        shown = "; ".join(
            _("row %(row)s: %(message)s") % {"row": row, "message": message}
            for row, _field, message in found[:5]
        )
        raise BulkRefused(
            _("%(count)s rows break the household rules: %(rows)s") % {"count": len(found), "rows": shown},
            reason="household_rules",
            count=len(found),
            rows=[row for row, _field, _message in found],
        )
