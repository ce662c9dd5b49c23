"""Summary tables behind the dashboard: the set-based refresh (a service) and the scoped reads (selectors)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, DateField, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.services import job_start
from payments.models import Benefit, PayrollStatus
from portal.models import (
    BeneficiarySummary,
    PaymentSummary,
    RegistrySummary,
    SummaryGrain,
    SummaryKind,
    SummaryRefresh,
)
from programs.models import Beneficiary
from programs.selectors import plan_list, user_sees_all_plans
from registry.models import PATH_STEP, Household, Individual
from registry.selectors import user_location_paths, user_sees_everywhere

User = AbstractBaseUser | AnonymousUser

AGE_BAND_YEARS = 10
AGE_BAND_LAST = 80  # "80+"
UNKNOWN_AGE = "unknown"
SEGMENT = PATH_STEP + 1  # one level of a location path: 8 digits and a dot
# The coarser grains the refresh writes, finest first: each is summed from the one before it.
COARSE_GRAINS = (SummaryGrain.SECOND, SummaryGrain.TOP)
_FINE = Value(int(SummaryGrain.LOCATION), output_field=IntegerField())
# Payrolls whose lines count as issued: approved and on; drafts, rejected and cancelled ones do not.
ISSUED_PAYROLL_STATES = (
    PayrollStatus.APPROVED,
    PayrollStatus.SENT,
    PayrollStatus.RECONCILING,
    PayrollStatus.RECONCILED,
)


def age_bands() -> list[str]:
    """Band labels, youngest first: "0-9" ... "70-79", "80+"."""
    bands = [f"{start}-{start + AGE_BAND_YEARS - 1}" for start in range(0, AGE_BAND_LAST, AGE_BAND_YEARS)]
    return [*bands, f"{AGE_BAND_LAST}+"]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age_band_expression(today: date) -> Case:
    """Born after (today - N years) means younger than N: the first band whose upper bound holds."""
    whens = [
        When(birth_date__gt=_years_before(today, start + AGE_BAND_YEARS), then=Value(label))
        for start, label in zip(range(0, AGE_BAND_LAST, AGE_BAND_YEARS), age_bands(), strict=False)
    ]
    return Case(
        *whens,
        When(birth_date__isnull=False, then=Value(age_bands()[-1])),
        default=Value(UNKNOWN_AGE),
        output_field=CharField(),
    )


def _insert_select(model: type, columns: list[str], queryset: QuerySet) -> int:
    """INSERT INTO model's table (columns) SELECT ...: the grouping runs in the database, not in Python."""
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)
        return cursor.rowcount


def _insert_coarser(model: type, *, grain: int, source: int, keys: list[str], sums: list[str]) -> int:
    """Sum the `source` grain's rows up to the ancestor at level `grain` (INSERT ... SELECT ... GROUP BY).

    The ancestor's id is the path's segment at that level; rows registered above it keep their location.
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
        f"FROM {table} WHERE {quote('grain')} = %s GROUP BY {groups} ORDER BY 3"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [int(source)])
        return cursor.rowcount


def _coarse_grains_write() -> None:
    """The coarser grains of the three summaries, each summed from the next finer one (small tables)."""
    specs: list[tuple[type, list[str], list[str]]] = [
        (RegistrySummary, ["kind", "sex", "age_band", "registered_month"], ["count"]),
        (BeneficiarySummary, ["benefit_plan", "status", "enrolled_month"], ["count"]),
        (
            PaymentSummary,
            ["benefit_plan", "cycle", "cycle_start", "status"],
            ["count", "amount", "amount_paid"],
        ),
    ]
    for model, keys, sums in specs:
        source = SummaryGrain.LOCATION
        for grain in COARSE_GRAINS:
            _insert_coarser(model, grain=grain, source=source, keys=keys, sums=sums)
            source = grain


REFRESH_STEPS = 6  # the five counting steps of `summaries_refresh`, then `summaries_vacuum`


def _statistics_update() -> None:
    """Fresh planner statistics for the rebuilt tables: a subtree read must be an index range scan."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (RegistrySummary, BeneficiarySummary, PaymentSummary):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def summaries_vacuum() -> None:
    """After a refresh has committed (PostgreSQL): VACUUM the summary tables.

    It reclaims the previous rows and marks the pages all-visible, so the covering indexes answer a
    subtree's sums without touching the table; the first view after a refresh then costs what later
    ones do. Skipped inside a transaction (VACUUM cannot run in one) and on other databases.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in (RegistrySummary, BeneficiarySummary, PaymentSummary):
            cursor.execute(f"VACUUM {connection.ops.quote_name(model._meta.db_table)}")


def summaries_refresh(
    *, today: date | None = None, progress: Callable[..., None] | None = None
) -> SummaryRefresh:
    """Rebuild the dashboard's summary tables from the registry and the plans, in one transaction.

    Rows are written in location path order, so a subtree's rows sit together on disk: a district's
    view reads a few hundred pages of the per-location rows, not one page per row.
    """
    today = today or timezone.localdate()
    started = time.monotonic()

    def step(done: int, message: str) -> None:
        if progress is not None:
            progress(done=done, total=REFRESH_STEPS, message=message)

    with transaction.atomic():
        step(0, "Counting people and households")
        RegistrySummary.objects.all().delete()
        BeneficiarySummary.objects.all().delete()
        people = (
            Individual.objects.annotate(
                summary_kind=Value(SummaryKind.INDIVIDUAL.value, output_field=CharField()),
                summary_grain=_FINE,
                band=_age_band_expression(today),
                month=TruncMonth("registration_date", output_field=DateField()),
            )
            .values("summary_kind", "summary_grain", "location_id", "location__path", "sex", "band", "month")
            .annotate(n=Count("pk"))
            .order_by("location__path")
        )
        columns = [
            "kind",
            "grain",
            "location",
            "location_path",
            "sex",
            "age_band",
            "registered_month",
            "count",
        ]
        _insert_select(RegistrySummary, columns, people)
        step(1, "Counting households")
        households = (
            Household.objects.annotate(
                summary_kind=Value(SummaryKind.HOUSEHOLD.value, output_field=CharField()),
                summary_grain=_FINE,
                no_sex=Value("", output_field=CharField()),
                no_band=Value("", output_field=CharField()),
                month=TruncMonth("registration_date", output_field=DateField()),
            )
            .values(
                "summary_kind", "summary_grain", "location_id", "location__path", "no_sex", "no_band", "month"
            )
            .annotate(n=Count("pk"))
            .order_by("location__path")
        )
        _insert_select(RegistrySummary, columns, households)
        step(2, "Counting beneficiaries")
        beneficiaries = (
            Beneficiary.objects.annotate(
                summary_grain=_FINE,
                month=TruncMonth("enrolled_at", output_field=DateField()),
            )
            .values("benefit_plan_id", "status", "summary_grain", "location_id", "location__path", "month")
            .annotate(n=Count("pk"))
            .order_by("location__path")
        )
        _insert_select(
            BeneficiarySummary,
            ["benefit_plan", "status", "grain", "location", "location_path", "enrolled_month", "count"],
            beneficiaries,
        )
        step(3, "Counting payment lines")
        PaymentSummary.objects.all().delete()
        lines = (
            Benefit.objects.filter(payroll__status__in=ISSUED_PAYROLL_STATES)
            .annotate(summary_grain=_FINE)
            .values(
                "payroll__payment_plan__benefit_plan_id",
                "cycle_id",
                "cycle__start_date",
                "status",
                "summary_grain",
                "location_id",
                "location__path",
            )
            .annotate(n=Count("pk"), issued=Sum("amount"), paid=Sum("amount_paid"))
            .order_by("location__path")
        )
        _insert_select(
            PaymentSummary,
            [
                "benefit_plan",
                "cycle",
                "cycle_start",
                "status",
                "grain",
                "location",
                "location_path",
                "count",
                "amount",
                "amount_paid",
            ],
            lines,
        )
        step(4, "Summing up to districts and regions")
        _coarse_grains_write()
        _statistics_update()
        refresh = SummaryRefresh.objects.create(
            refreshed_at=timezone.now(), seconds=time.monotonic() - started
        )
    return refresh


def summary_refreshed_last() -> SummaryRefresh | None:
    return SummaryRefresh.objects.order_by("-refreshed_at").first()


@dataclass(frozen=True)
class SummaryFilters:
    """The dashboard's filters: a benefit plan, a location subtree, registrations/enrolments since a month."""

    plan_id: int | None = None
    location_path: str = ""
    since: date | None = None


def _scope_q(user: User) -> Q:
    if user_sees_everywhere(user):
        return Q()
    paths = user_location_paths(user)
    if not paths:
        return Q(pk__in=[])
    condition = Q()
    for path in paths:
        condition |= Q(location_path__startswith=path)
    return condition


def _path_depth(path: str) -> int:
    return len(path) // SEGMENT - 1


def summary_grain(*, user: User, filters: SummaryFilters, depth: int) -> SummaryGrain:
    """The coarsest grain that answers: areas at `depth`, the location filter and the user's locations.

    A national or regional view reads the top or second-level rows (a few thousand at 1M people); a
    district filter or a district-scoped user needs the rows per location, restricted by path prefix.
    """
    needed = depth
    if filters.location_path:
        needed = max(needed, _path_depth(filters.location_path))
    if not user_sees_everywhere(user):
        needed = max([needed, *(_path_depth(p) for p in user_location_paths(user))])
    for grain in (SummaryGrain.TOP, SummaryGrain.SECOND):
        if needed <= grain:
            return grain
    return SummaryGrain.LOCATION


def registry_summary_list(
    *, user: User, filters: SummaryFilters, kind: str | None, grain: int = SummaryGrain.LOCATION
) -> QuerySet[RegistrySummary]:
    """Rows of people or households (`kind`; None for both) the user may see, filtered, at one grain."""
    # Both kinds as an IN list, so PostgreSQL still walks the (grain, kind, path) index by path prefix.
    kinds = [kind] if kind else list(SummaryKind.values)
    qs = RegistrySummary.objects.filter(_scope_q(user), kind__in=kinds, grain=grain)
    if filters.location_path:
        qs = qs.filter(location_path__startswith=filters.location_path)
    if filters.since:
        qs = qs.filter(registered_month__gte=filters.since)
    return qs


def _user_plan_ids(user: User) -> list[int]:
    """The ids of the user's plans (a few), read once per request: every plan-keyed chart filters by them."""
    cached = getattr(user, "_summary_plan_ids", None)
    if cached is None:
        cached = list(plan_list(user=user).order_by().values_list("pk", flat=True))
        user._summary_plan_ids = cached  # type: ignore[union-attr]
    return cached


def _plan_summary_list(
    model: Any, *, user: User, filters: SummaryFilters, period_field: str, grain: int
) -> QuerySet:
    """Summary rows keyed by plan: the user's plans, in the user's locations, filtered, at one grain."""
    qs = model.objects.filter(_scope_q(user), grain=grain)
    if not user_sees_all_plans(user):
        qs = qs.filter(benefit_plan_id__in=_user_plan_ids(user))
    if filters.plan_id:
        qs = qs.filter(benefit_plan_id=filters.plan_id)
    if filters.location_path:
        qs = qs.filter(location_path__startswith=filters.location_path)
    if filters.since:
        qs = qs.filter(**{f"{period_field}__gte": filters.since})
    return qs


def beneficiary_summary_list(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> QuerySet[BeneficiarySummary]:
    """Summary rows of beneficiaries of the user's plans in the user's locations, filtered."""
    return _plan_summary_list(
        BeneficiarySummary, user=user, filters=filters, period_field="enrolled_month", grain=grain
    )


def payment_summary_list(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> QuerySet[PaymentSummary]:
    """Summary rows of payment lines of the user's plans in the user's locations, filtered."""
    return _plan_summary_list(
        PaymentSummary, user=user, filters=filters, period_field="cycle_start", grain=grain
    )


def summaries_refresh_start(*, user: User | None, after_write: bool = False) -> Job:
    """Queue a refresh job, unless one is already queued or running (then that one is returned).

    `user` is who pressed Refresh; None when a committed upload, payroll or reconciliation asked for it.
    `after_write`: only a queued job stands in for a new one; a running refresh may have read the tables
    before the write committed, so one more is queued behind it.
    """
    from portal.tasks import summaries_refresh_task

    kind = f"{summaries_refresh_task.func.__module__}.{summaries_refresh_task.func.__name__}"
    # A job stuck in the queue (no worker) stops blocking new ones after a while.
    recent = timezone.now() - timedelta(minutes=15)
    states = (JobState.QUEUED,) if after_write else (JobState.QUEUED, JobState.RUNNING)
    waiting = Job.objects.filter(kind=kind, state__in=states, created_at__gte=recent).first()
    if waiting is not None:
        return waiting
    return job_start(task=summaries_refresh_task, label="Refresh the dashboard's summary tables", user=user)  # type: ignore[arg-type]
