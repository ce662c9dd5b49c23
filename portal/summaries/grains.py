"""What the summary tables share: the grains (location, district, region), the inserts, the scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet

from access.scope import path_scope_q, user_location_paths, user_sees_everywhere
from portal.models import BeneficiarySummary, PaymentSummary, RegistrySummary, SummaryGrain
from registry.models import PATH_STEP, Location

User = AbstractBaseUser | AnonymousUser

SEGMENT = PATH_STEP + 1  # one level of a location path: 8 digits and a dot
# The coarser grains the refresh writes, finest first: each is summed from the one before it.
COARSE_GRAINS = (SummaryGrain.SECOND, SummaryGrain.TOP)
FINE_GRAIN = int(SummaryGrain.LOCATION)
# Each summary's group keys (besides grain and location) and its sums.
COARSE_SPECS: dict[type, tuple[list[str], list[str]]] = {
    RegistrySummary: (["kind", "sex", "age_band", "registered_month"], ["count"]),
    BeneficiarySummary: (["benefit_plan", "status", "enrolled_month"], ["count"]),
    PaymentSummary: (["benefit_plan", "cycle", "cycle_start", "status"], ["count", "amount", "amount_paid"]),
}


def insert_grouped(
    model: type,
    columns: list[str],
    inner: QuerySet,
    *,
    select: str,
    joins: str,
    group_by: str = "",
    ordered: bool = True,
) -> int:
    """INSERT INTO the table (columns) SELECT `select` FROM (inner) AS a `joins` [GROUP BY] [ORDER BY path].

    `inner` groups the big table by plain ids only (one pass, a hash aggregate of a few thousand groups);
    the small tables it names (location paths, plans, cycles) are joined to the groups afterwards, never
    row by row to millions of lines, whatever the planner's estimates. `ordered` writes rows in location
    path order (a full rebuild: a subtree's rows sit together on disk); an increment need not sort.
    """
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:  # e.g. no issued payroll yet: nothing to count
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    statement = f"INSERT INTO {table} ({names}) SELECT {select} FROM ({sql}) a {joins}"
    if group_by:
        statement += f" GROUP BY {group_by}"
    if ordered:
        statement += f" ORDER BY {quote('path')}"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def location_join() -> str:
    """The join of the grouped rows `a` to their location `l` (its path)."""
    return f"JOIN {connection.ops.quote_name(Location._meta.db_table)} l ON l.id = a.location_id"


def work_memory_raise() -> None:
    """For the refresh's transaction (PostgreSQL): sorts and hash aggregates of a million rows in memory."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")


def insert_coarser(
    model: type,
    *,
    grain: int,
    source: int,
    keys: list[str],
    sums: list[str],
    where: str = "",
    params: tuple | list = (),
) -> int:
    """Sum the `source` grain's rows up to the ancestor at level `grain` (INSERT ... SELECT ... GROUP BY).

    The ancestor's id is the path's segment at that level; rows registered above it keep their location.
    `where` (SQL on the source rows, with `params`) restricts it to some areas or plans (an increment).
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    path, location = quote("location_path"), quote("location_id")
    key_columns = [quote(model._meta.get_field(k).column) for k in keys]
    sum_columns = [quote(model._meta.get_field(k).column) for k in sums]
    prefix_length = SEGMENT * (int(grain) + 1)
    area_id = (
        f"CASE WHEN LENGTH({path}) >= {prefix_length} "
        f"THEN CAST(SUBSTR({path}, {prefix_length - SEGMENT + 1}, {PATH_STEP}) AS INTEGER) "
        f"ELSE {location} END"
    )
    area_path = f"SUBSTR({path}, 1, {prefix_length})"
    groups = ", ".join(str(n) for n in range(2, 4 + len(key_columns)))
    sql = (
        f"INSERT INTO {table} ({quote('grain')}, {location}, {path}, {', '.join(key_columns + sum_columns)}) "
        f"SELECT {int(grain)}, {area_id}, {area_path}, {', '.join(key_columns)}, "
        f"{', '.join(f'SUM({c})' for c in sum_columns)} "
        f"FROM {table} WHERE {quote('grain')} = %s {f'AND ({where})' if where else ''} "
        f"GROUP BY {groups} ORDER BY 3"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [int(source), *params])
        return cursor.rowcount


def area_prefix_length(grain: int) -> int:
    """The length of a path's prefix naming its ancestor at level `grain`."""
    return SEGMENT * (int(grain) + 1)


@dataclass(frozen=True)
class SummaryFilters:
    """The dashboard's filters: a benefit plan, a location subtree, registrations/enrolments since a month."""

    plan_id: int | None = None
    location_path: str = ""
    since: date | None = None


def scope_q(user: User) -> Q:
    """The summary rows inside the user's locations (their denormalised `location_path`)."""
    return path_scope_q(user, path_field="location_path")


def path_depth(path: str) -> int:
    return len(path) // SEGMENT - 1


def summary_grain(*, user: User, filters: SummaryFilters, depth: int) -> SummaryGrain:
    """The coarsest grain that answers: areas at `depth`, the location filter and the user's locations.

    A national or regional view reads the top or second-level rows (a few thousand at 1M people); a
    district filter or a district-scoped user needs the rows per location, restricted by path prefix.
    """
    needed = depth
    if filters.location_path:
        needed = max(needed, path_depth(filters.location_path))
    if not user_sees_everywhere(user):
        needed = max([needed, *(path_depth(p) for p in user_location_paths(user))])
    for grain in (SummaryGrain.TOP, SummaryGrain.SECOND):
        if needed <= grain:
            return grain
    return SummaryGrain.LOCATION
