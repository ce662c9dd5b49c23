"""Reads: the reports a user may see, and a report's figures as one GROUP BY on the data the user may see."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, Exists, Expression, F, OuterRef, QuerySet, Sum
from django.utils import timezone

from access.plans import plan_list
from access.roles import ADMINISTRATOR, user_in_roles, user_role_ids
from access.scope import user_location_paths, user_sees_everywhere
from registry.expressions import CompileEnv, ExpressionContext, ExpressionError, compile_filter
from reports.datasets import Grouping, ReportFieldError, dataset_get
from reports.models import Measure, Report
from reports.validation import measure_field_check

User = AbstractBaseUser | AnonymousUser

VIEW_REPORT = "reports.view_report"
SEES_ALL_REPORTS = (ADMINISTRATOR,)
MAX_GROUPS = 1000
MAX_PINNED = 4
PINNED_CACHE_SECONDS = 300


def user_sees_all_reports(user: User) -> bool:
    return user_in_roles(user, SEES_ALL_REPORTS)


def report_list(*, user: User) -> QuerySet[Report]:
    """Reports the user may open: administrators all; others those open to every role or to one of theirs."""
    if not user.is_authenticated or not user.is_active or not user.has_perm(VIEW_REPORT):
        return Report.objects.none()
    qs = Report.objects.all()
    if user_sees_all_reports(user):
        return qs
    roles = Report.roles.through.objects.filter(report=OuterRef("pk"))
    return qs.filter(~Exists(roles) | Exists(roles.filter(group__in=user_role_ids(user))))


def report_get(*, user: User, report_id: int) -> Report | None:
    return report_list(user=user).select_related("benefit_plan").filter(pk=report_id).first()


def user_can_edit_report(user: User, report: Report | None) -> bool:
    """Changing a report: the change permission, and the report is the user's own (administrators: any)."""
    if not user.is_authenticated or not user.is_active or not user.has_perm("reports.change_report"):
        return False
    if report is None or user_sees_all_reports(user):
        return True
    return report.created_by_id == user.pk


def report_pinned_list(*, user: User, limit: int = MAX_PINNED) -> list[Report]:
    return list(
        report_list(user=user)
        .filter(pinned=True)
        .select_related("benefit_plan")
        .order_by("pin_order", "name")[:limit]
    )


@dataclass
class ReportRow:
    label: str
    value: int | Decimal | None
    series: str = ""


@dataclass
class ReportResult:
    """A report's figures: rows in display order, or the message saying why there are none."""

    report: Report
    group_label: str = ""
    series_label: str = ""
    measure_label: str = ""
    rows: list[ReportRow] = field(default_factory=list)
    error: str = ""
    truncated: bool = False
    computed_at: datetime = field(default_factory=timezone.now)

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def headers(self) -> list[str]:
        return [self.group_label, *([self.series_label] if self.series_label else []), self.measure_label]

    def table(self) -> list[list[Any]]:
        """Rows as cells, in the order of `headers`."""
        return [[row.label, *([row.series] if self.series_label else []), row.value] for row in self.rows]


def measure_label(report: Report) -> str:
    if report.measure == Measure.COUNT:
        return {
            "individuals": "People",
            "households": "Households",
            "beneficiaries": "Beneficiaries",
            "benefits": "Benefit lines",
            "approvals": "Tasks",
        }.get(report.dataset, "Count")
    word = "Sum" if report.measure == Measure.SUM else "Average"
    return f"{word} of {report.measure_field}"


def report_result(*, report: Report, user: User) -> ReportResult:
    """The report computed on the user's scope: one aggregate query, grouped, capped at MAX_GROUPS groups.

    A grouping, field or filter the schemas no longer allow gives a message, not an exception.
    """
    result = ReportResult(report=report, measure_label=measure_label(report))
    try:
        dataset = dataset_get(report.dataset)
        plan = report.benefit_plan if report.benefit_plan_id and dataset.plan_path else None
        grouping = dataset.grouping(report.group_by, plan)
        series = dataset.grouping(report.series_by, plan) if report.series_by else None
        result.group_label = grouping.label
        result.series_label = series.label if series else ""
        context = dataset.context(plan)
        env = CompileEnv(today=timezone.localdate())
        queryset = dataset.queryset(user)
        if plan is not None:
            queryset = queryset.filter(**{dataset.plan_path: plan})
        if report.filter_expression.strip():
            try:
                queryset = queryset.filter(compile_filter(report.filter_expression, context, today=env.today))
            except ExpressionError as error:
                raise ReportFieldError(f"the filter no longer works: {error.describe()}") from None
        value = None
        if report.measure != Measure.COUNT:
            value = context.get(measure_field_check(report, context)).build(env)
        groupings = {"group_key": grouping} | ({"series_key": series} if series is not None else {})
        if any(g.rollup for g in groupings.values()):
            rows = _rows_rolled_up(queryset, groupings, report.measure, value, context=context, env=env)
        else:
            if value is None:
                measure: Any = Count("*")
            else:
                measure = (Sum if report.measure == Measure.SUM else Avg)(value)
            keys = {name: g.build(context, env) for name, g in groupings.items()}
            rows = list(
                queryset.order_by()
                .annotate(**keys)
                .values(*keys)
                .annotate(value=measure)
                .values_list(*keys, "value")
                .order_by(*keys)[: MAX_GROUPS + 1]
            )
    except ReportFieldError as error:
        text = str(error)
        result.error = f"This report cannot be computed: {text}. Edit the report to fix it."
        return result
    if len(rows) > MAX_GROUPS:
        result.truncated = True
        rows = rows[:MAX_GROUPS]
    labels, order = grouping.describe(row[0] for row in rows)
    if series is not None:
        series_labels, series_order = series.describe(row[1] for row in rows)
        rows.sort(key=lambda row: (order[row[0]], series_order[row[1]]))
        result.rows = [ReportRow(labels[g], _number(v), series_labels[s]) for g, s, v in rows]
    else:
        rows.sort(key=lambda row: order[row[0]])
        result.rows = [ReportRow(labels[g], _number(v)) for g, v in rows]
    return result


def _rows_rolled_up(
    queryset: QuerySet,
    groupings: dict[str, Grouping],
    measure: str,
    value: Expression | None,
    *,
    context: ExpressionContext,
    env: CompileEnv,
) -> list[tuple[Any, ...]]:
    """Group in two steps: aggregate the big table per foreign key (an index scan, no join), then join
    those few rows to the small tables (locations, payrolls) and add them up by the value read there."""
    inner_keys: dict[str, Any] = {}
    outer_columns: list[str] = []
    joins: list[str] = []
    params: list[Any] = []
    aliases: dict[tuple[str, str], str] = {}
    for name, grouping in groupings.items():
        rollup = grouping.rollup
        if rollup is None:
            inner_keys[name] = grouping.build(context, env)
            outer_columns.append(f"sub.{name}")
            continue
        table = rollup.model._meta.db_table
        alias = aliases.get((rollup.fk, table))
        if alias is None:
            alias = aliases[(rollup.fk, table)] = f"rollup_{len(aliases)}"
            inner_keys[f"{alias}_key"] = F(rollup.fk)
            joins.append(f"INNER JOIN {table} {alias} ON {alias}.id = sub.{alias}_key")
        outer_columns.append(rollup.sql(connection.vendor).replace("{t}", alias))
        params.extend(rollup.params)
    aggregates: dict[str, Any] = {"row_count": Count("*")}
    if value is not None:
        aggregates["value_total"] = Sum(value)
        aggregates["value_count"] = Count(value)
    inner = queryset.order_by().annotate(**inner_keys).values(*inner_keys).annotate(**aggregates)
    inner_sql, inner_params = inner.query.sql_with_params()
    if value is None:
        measured = "SUM(sub.row_count)"
    elif measure == Measure.SUM:
        measured = "SUM(sub.value_total)"
    else:
        measured = "SUM(sub.value_total) * 1.0 / NULLIF(SUM(sub.value_count), 0)"
    positions = ", ".join(str(n) for n in range(1, len(outer_columns) + 1))
    sql = (
        f"SELECT {', '.join(outer_columns)}, {measured} FROM ({inner_sql}) sub {' '.join(joins)} "
        f"GROUP BY {positions} ORDER BY {positions} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *inner_params, MAX_GROUPS + 1])
        return [tuple(row) for row in cursor.fetchall()]


def _number(value: Any) -> int | Decimal | None:
    """Counts and whole sums as integers; other figures to two decimal places (averages run long)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return value.quantize(Decimal("0.01"))
    return value


def _scope_key(user: User, report: Report) -> str:
    """What the report's figures depend on besides the data: the user's locations, plans or tasks."""
    if report.dataset == "approvals":
        return f"user:{user.pk}"
    scope = "everywhere" if user_sees_everywhere(user) else ",".join(sorted(user_location_paths(user)))
    if report.dataset in ("beneficiaries", "benefits"):
        plans = plan_list(user=user).order_by("pk").values_list("pk", flat=True)
        scope += "|plans:" + ",".join(map(str, plans))
    return scope


def report_result_cached(*, report: Report, user: User) -> ReportResult:
    """For the dashboard: the result kept a few minutes per report version and viewer scope."""
    raw = f"{report.pk}|{report.updated_at.isoformat()}|{_scope_key(user, report)}"
    key = "reports:result:" + hashlib.sha256(raw.encode()).hexdigest()
    result = cache.get(key)
    if result is None:
        result = report_result(report=report, user=user)
        cache.set(key, result, PINNED_CACHE_SECONDS)
    return result
