"""The programmes' bulk writes: enrolment of many beneficiaries and status changes of many, set-based.

The only code that writes the beneficiary table in bulk: the enrolment executor
(`programs.services.plan_enrol`), the plan's closing, status changes and the upload commit call it. An
enrolment takes a *source* relation (`registry.bulk.Source`: one SELECT and its params) whose rows follow
this contract:

    individual plans   individual_id, location_id, data
    household plans    household_id, location_id, data   (e.g. `registry.matching.households_of(...)`)

`data` is the plan data as JSON text (NULL: the constant given, else '{}'). Rows already enrolled in the
plan are left out by the plan's unique index (ON CONFLICT DO NOTHING); one INSERT ... SELECT writes the
rest, in the source's order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import F, QuerySet

from programs.models import STATUS_TRANSITIONS, Beneficiary, BeneficiaryStatusChange, BenefitPlan
from registry.bulk import Source, json_value

BENEFICIARY = Beneficiary._meta.db_table
WRITTEN_TABLES = (BENEFICIARY,)  # for `registry.bulk.foreign_keys_check` at the end of a bulk write


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def insert_select(
    model: type[models.Model],
    *,
    source: QuerySet,
    columns: dict[str, Any],
    constants: dict[str, Any] | None = None,
) -> int:
    """INSERT INTO model (...) SELECT ... FROM (source) in one statement; returns the rows written.

    `columns` maps the model's field names to expressions over `source` (compiled by the
    ORM); `constants` are the same for every row and go in the outer SELECT, where
    PostgreSQL types them from the target columns.
    """
    constants = constants or {}
    aliases = {f"src_{index}": expression for index, expression in enumerate(columns.values())}
    source = source.order_by().annotate(**aliases).values(*aliases)
    sql, params = source.query.get_compiler(using=source.db).as_sql()
    target_columns = [model._meta.get_field(name).column for name in (*constants, *columns)]
    outer = ["%s"] * len(constants) + [f"src.{_quote(alias)}" for alias in aliases]
    statement = (
        f"INSERT INTO {_quote(model._meta.db_table)} ({', '.join(map(_quote, target_columns))}) "
        f"SELECT {', '.join(outer)} FROM ({sql}) src"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*constants.values(), *params])
        return cursor.rowcount


def queryset_source(queryset: QuerySet, **columns: Any) -> Source:
    """A queryset as a source relation whose columns are `columns` (name: ORM expression)."""
    queryset = queryset.order_by().annotate(**{f"src_{name}": value for name, value in columns.items()})
    queryset = queryset.values(*(f"src_{name}" for name in columns))
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    renamed = ", ".join(f"q.{_quote(f'src_{name}')} AS {name}" for name in columns)
    return Source(f"SELECT {renamed} FROM ({sql}) q", params)


def beneficiaries_enrol(
    *,
    plan: BenefitPlan,
    source: Source,
    status: str,
    reason: str,
    at: datetime,
    task_id: int | None,
    data: dict[str, Any] | None = None,
    skip_enrolled: bool = True,
) -> int:
    """Enrol the source's individuals or households (contract: module docstring) not yet in the plan.

    `data`: the plan data of every row whose `data` is NULL. `skip_enrolled` False: the caller's source
    already leaves out who is enrolled (a row enrolled all the same fails on the unique constraint).
    """
    fk = "household_id" if plan.is_household else "individual_id"
    default = json.dumps(data or {}, cls=DjangoJSONEncoder)
    # The duplicate check is the unique index's own probe (ON CONFLICT on the plan's one-row-per-person
    # index), not an anti-join against the table this statement writes: such a join is planned before
    # the first row is written, and on an empty or freshly filled plan PostgreSQL picks a nested loop that
    # rescans every row already inserted, once per row (over 11 minutes at 1,000,000 people).
    # "WHERE true": SQLite's parser needs a WHERE before ON CONFLICT in an INSERT ... SELECT.
    skip = f" WHERE true ON CONFLICT (benefit_plan_id, {fk}) WHERE {fk} IS NOT NULL DO NOTHING"
    return _insert(
        f"INSERT INTO {BENEFICIARY} (benefit_plan_id, {fk}, location_id, status, status_reason, "
        f"status_changed_at, enrolled_at, enrolment_task_id, data) "
        f"SELECT %s, p.{fk}, p.location_id, %s, %s, %s, %s, %s, {json_value('COALESCE(p.data, %s)')} "
        f"FROM {source.relation('p')}{skip if skip_enrolled else ''}",
        [plan.pk, status, reason, _db_datetime(at), _db_datetime(at), task_id, default, *source.params],
    )


def _insert(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def beneficiaries_status_change(
    *,
    rows: QuerySet[Beneficiary],
    transition: str,
    reason: str,
    user_id: int | None,
    task_id: int | None,
    at: datetime,
) -> int:
    """Move the rows in a source state of `transition` to its target: one INSERT ... SELECT of their
    status-change records, then one UPDATE."""
    sources, target = STATUS_TRANSITIONS[transition]
    rows = rows.filter(status__in=sources)
    insert_select(
        BeneficiaryStatusChange,
        source=rows,
        columns={"beneficiary": F("pk"), "benefit_plan": F("benefit_plan_id"), "from_status": F("status")},
        constants={
            "to_status": target,
            "reason": reason,
            "changed_at": _db_datetime(at),
            "requested_by": user_id,
            "task": task_id,
        },
    )
    return rows.update(status=target, status_reason=reason, status_changed_at=at)
