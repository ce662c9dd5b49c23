"""The incremental refresh: recount only the keys changed since the last refresh (locations, plans, cycles).

The apps' writes leave `SummaryChange` rows (portal.signals marks them); the job takes them all at once
(DELETE ... RETURNING, so a change committed meanwhile waits for the next job), deletes and re-inserts the
per-location rows of those keys, then re-sums the districts and regions above them only. Its rows equal a
full rebuild's on the same data, counted with the age bands of the last full rebuild (they shift with the
date: a full rebuild is queued once a day, see `summaries_full_due`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from payments.models import Payroll
from portal.models import (
    BeneficiarySummary,
    PaymentSummary,
    RegistrySummary,
    SummaryChange,
    SummaryChangeKind,
    SummaryGrain,
    SummaryKind,
    SummaryRefresh,
)
from portal.summaries.grains import (
    COARSE_GRAINS,
    COARSE_SPECS,
    area_prefix_length,
    insert_coarser,
    work_memory_raise,
)
from portal.summaries.payments import payment_summaries_write
from portal.summaries.programmes import beneficiary_summaries_write
from portal.summaries.registry import registry_summaries_write
from registry.models import Household, HouseholdMember, Location

# PostgreSQL advisory lock held by every refresh, full or incremental, for its transaction: two refreshes
# deleting and re-inserting the same rows at once would each insert them.
REFRESH_RUN_LOCK = 7_310_004_202


def refresh_run_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_RUN_LOCK])


@dataclass
class ChangedKeys:
    """What changed: registry locations; whole plans / cycles, or some locations of a plan / cycle."""

    locations: set[int] = field(default_factory=set)
    plans: set[int] = field(default_factory=set)
    plan_locations: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    cycles: set[int] = field(default_factory=set)
    cycle_locations: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # (plan or None, first individual id, last individual id): new people, added to the counts.
    people_added: set[tuple[int | None, int, int]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.locations
            or self.plans
            or self.plan_locations
            or self.cycles
            or self.cycle_locations
            or self.people_added
        )


def summary_changes_mark(kind: str, keys: Iterable[tuple[int | None, int | None]]) -> None:
    """Record (scope id, location id) pairs of `kind` as stale, in the caller's transaction."""
    rows = [SummaryChange(kind=kind, scope_id=scope, location_id=location) for scope, location in set(keys)]
    SummaryChange.objects.bulk_create(rows, batch_size=2000)


def summary_changes_take() -> ChangedKeys:
    """Delete every change row and return their distinct keys (one statement: none is lost meanwhile)."""
    table = connection.ops.quote_name(SummaryChange._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} RETURNING kind, scope_id, location_id, first_id, last_id")
        rows = set(cursor.fetchall())
    keys = ChangedKeys()
    for kind, scope, location, first, last in rows:
        if kind == SummaryChangeKind.PEOPLE_ADDED and first is not None and last is not None:
            keys.people_added.add((scope, first, last))
        elif kind == SummaryChangeKind.REGISTRY and location is not None:
            keys.locations.add(location)
        elif kind == SummaryChangeKind.BENEFICIARY and scope is not None:
            (keys.plans.add(scope) if location is None else keys.plan_locations[scope].add(location))
        elif kind == SummaryChangeKind.PAYMENT and scope is not None:
            (keys.cycles.add(scope) if location is None else keys.cycle_locations[scope].add(location))
    for plan in keys.plans:
        keys.plan_locations.pop(plan, None)
    for cycle in keys.cycles:
        keys.cycle_locations.pop(cycle, None)
    return keys


def _paths(location_ids: Iterable[int]) -> list[str]:
    return list(Location.objects.filter(pk__in=list(location_ids)).values_list("path", flat=True))


def _coarse_rewrite(
    model: type, *, paths: list[str] | None, slice_sql: str, slice_params: list, slice_q: Q
) -> None:
    """Delete and re-sum the districts' and regions' rows above `paths` (None: every area) within a slice.

    A coarse row's path is its area's prefix (or the whole path of a location above that level), so the
    areas to redo are the prefixes of the changed paths; their source rows are found by prefix (LIKE
    'prefix%', an index range) or, for a location above the level, by its exact path.
    """
    keys, sums = COARSE_SPECS[model]
    path = connection.ops.quote_name("location_path")
    source = SummaryGrain.LOCATION
    for grain in COARSE_GRAINS:
        conditions, params = ([slice_sql], list(slice_params)) if slice_sql else ([], [])
        target = Q()
        if paths is not None:
            length = area_prefix_length(grain)
            areas = sorted({p[:length] for p in paths})
            if not areas:
                return
            target = Q(location_path__in=areas)
            ors = [f"{path} LIKE %s" if len(area) == length else f"{path} = %s" for area in areas]
            conditions.append(" OR ".join(ors))
            params += [f"{area}%" if len(area) == length else area for area in areas]
        model.objects.filter(slice_q, target, grain=grain).delete()
        where = " AND ".join(f"({c})" for c in conditions)
        insert_coarser(model, grain=grain, source=source, keys=keys, sums=sums, where=where, params=params)
        source = grain


def _in_sql(column: str, values: list) -> str:
    return f"{connection.ops.quote_name(column)} IN ({', '.join(['%s'] * len(values))})"


def _registry_rewrite(location_ids: set[int], today: date) -> None:
    if not location_ids:
        return
    kinds = list(SummaryKind.values)
    paths = _paths(location_ids)
    RegistrySummary.objects.filter(
        grain=SummaryGrain.LOCATION, kind__in=kinds, location_path__in=paths
    ).delete()
    registry_summaries_write(today=today, step=lambda done, message: None, location_ids=sorted(location_ids))
    _coarse_rewrite(
        RegistrySummary,
        paths=paths,
        slice_sql=_in_sql("kind", kinds),
        slice_params=kinds,
        slice_q=Q(kind__in=kinds),
    )


def _beneficiary_rewrite(plans: set[int], plan_locations: dict[int, set[int]]) -> None:
    if plans:
        ids = sorted(plans)
        BeneficiarySummary.objects.filter(grain=SummaryGrain.LOCATION, benefit_plan_id__in=ids).delete()
        beneficiary_summaries_write(Q(benefit_plan_id__in=ids))
        _coarse_rewrite(
            BeneficiarySummary,
            paths=None,
            slice_sql=_in_sql("benefit_plan_id", ids),
            slice_params=ids,
            slice_q=Q(benefit_plan_id__in=ids),
        )
    for plan, locations in sorted(plan_locations.items()):
        paths = _paths(locations)
        BeneficiarySummary.objects.filter(
            grain=SummaryGrain.LOCATION, benefit_plan_id=plan, location_path__in=paths
        ).delete()
        beneficiary_summaries_write(Q(benefit_plan_id=plan, location_id__in=sorted(locations)))
        _coarse_rewrite(
            BeneficiarySummary,
            paths=paths,
            slice_sql=_in_sql("benefit_plan_id", [plan]),
            slice_params=[plan],
            slice_q=Q(benefit_plan_id=plan),
        )


def _cycle_payrolls(cycles: Iterable[int]) -> list[int]:
    """The cycles' payrolls: lines are found through their (payroll, status) index, never a scan by cycle."""
    return list(Payroll.objects.filter(cycle_id__in=list(cycles)).values_list("pk", flat=True))


def _payment_rewrite(cycles: set[int], cycle_locations: dict[int, set[int]]) -> None:
    if cycles:
        ids = sorted(cycles)
        PaymentSummary.objects.filter(grain=SummaryGrain.LOCATION, cycle_id__in=ids).delete()
        payment_summaries_write(Q(payroll_id__in=_cycle_payrolls(ids)))
        _coarse_rewrite(
            PaymentSummary,
            paths=None,
            slice_sql=_in_sql("cycle_id", ids),
            slice_params=ids,
            slice_q=Q(cycle_id__in=ids),
        )
    for cycle, locations in sorted(cycle_locations.items()):
        paths = _paths(locations)
        PaymentSummary.objects.filter(
            grain=SummaryGrain.LOCATION, cycle_id=cycle, location_path__in=paths
        ).delete()
        # cycle_id too: the lines' (cycle, location) index finds those locations' lines, not every line of
        # the cycle's payrolls.
        payment_summaries_write(
            Q(cycle_id=cycle, payroll_id__in=_cycle_payrolls([cycle]), location_id__in=sorted(locations))
        )
        _coarse_rewrite(
            PaymentSummary,
            paths=paths,
            slice_sql=_in_sql("cycle_id", [cycle]),
            slice_params=[cycle],
            slice_q=Q(cycle_id=cycle),
        )


DELTA_GRAIN, MERGED_GRAIN = 200, 201  # rows being added, and their sums, before they become per-location rows


def _merge_added(model: type, *, kind_q: Q, kind_sql: str, kind_params: list) -> list[str]:
    """Fold the rows written at DELTA_GRAIN into the per-location rows (sums of equal keys); their paths.

    Three statements over the touched locations' rows only: their sums written at MERGED_GRAIN, the old
    and added rows deleted, the sums made per-location rows.
    """
    quote = connection.ops.quote_name
    paths = sorted(
        set(model.objects.filter(kind_q, grain=DELTA_GRAIN).values_list("location_path", flat=True))
    )
    if not paths:
        return []
    keys, sums = COARSE_SPECS[model]
    table = quote(model._meta.db_table)
    key_columns = [quote(model._meta.get_field(k).column) for k in keys] + [quote("location_id")]
    key_columns.append(quote("location_path"))
    sum_columns = [quote(model._meta.get_field(k).column) for k in sums]
    marks = ", ".join(["%s"] * len(paths))
    where = f"{quote('grain')} IN (%s, %s) AND {quote('location_path')} IN ({marks})"
    where += f" AND {kind_sql}" if kind_sql else ""
    params = [int(SummaryGrain.LOCATION), DELTA_GRAIN, *paths, *kind_params]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quote('grain')}, {', '.join(key_columns + sum_columns)}) "
            f"SELECT {MERGED_GRAIN}, {', '.join(key_columns)}, {', '.join(f'SUM({c})' for c in sum_columns)} "
            f"FROM {table} WHERE {where} GROUP BY {', '.join(key_columns)}",
            params,
        )
        cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
        cursor.execute(
            f"UPDATE {table} SET {quote('grain')} = %s WHERE {quote('grain')} = %s",
            [int(SummaryGrain.LOCATION), MERGED_GRAIN],
        )
    return paths


def _people_add(added: set[tuple[int | None, int, int]], keys: ChangedKeys, today: date) -> None:
    """Add new people (id ranges), their new households and enrolments to the counts: only those rows are
    read, however many people their locations already hold. Locations (and plans) recounted in this
    refresh already count them and are left out."""
    recounted = sorted(keys.locations)
    people, households, beneficiaries = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
    for plan, first, last in sorted(added, key=repr):
        people |= Q(pk__range=(first, last))
        members = HouseholdMember.objects.filter(individual_id__gte=first, individual_id__lte=last).values(
            "household_id"
        )
        older = HouseholdMember.objects.filter(household_id=OuterRef("pk"), individual_id__lt=first)
        new_households = Q(pk__in=members) & ~Exists(older)
        households |= new_households
        if plan is not None and plan not in keys.plans:
            enrolled = Q(individual_id__gte=first, individual_id__lte=last) | Q(
                household_id__in=Household.objects.filter(new_households).values("pk")
            )
            beneficiaries |= (
                Q(benefit_plan_id=plan)
                & enrolled
                & ~Q(location_id__in=sorted(keys.plan_locations.get(plan, ())))
            )
    kinds = list(SummaryKind.values)
    registry_summaries_write(
        today=today,
        step=lambda done, message: None,
        added=(people & ~Q(location_id__in=recounted), households & ~Q(location_id__in=recounted)),
        grain=DELTA_GRAIN,
    )
    paths = _merge_added(
        RegistrySummary, kind_q=Q(kind__in=kinds), kind_sql=_in_sql("kind", kinds), kind_params=kinds
    )
    _coarse_rewrite(
        RegistrySummary,
        paths=paths,
        slice_sql=_in_sql("kind", kinds),
        slice_params=kinds,
        slice_q=Q(kind__in=kinds),
    )
    beneficiary_summaries_write(beneficiaries, grain=DELTA_GRAIN)
    plans = sorted(
        set(BeneficiarySummary.objects.filter(grain=DELTA_GRAIN).values_list("benefit_plan_id", flat=True))
    )
    if plans:
        paths = _merge_added(
            BeneficiarySummary,
            kind_q=Q(benefit_plan_id__in=plans),
            kind_sql=_in_sql("benefit_plan_id", plans),
            kind_params=plans,
        )
        _coarse_rewrite(
            BeneficiarySummary,
            paths=paths,
            slice_sql=_in_sql("benefit_plan_id", plans),
            slice_params=plans,
            slice_q=Q(benefit_plan_id__in=plans),
        )


def age_bands_day(today: date | None = None) -> date:
    """The day the summaries' age bands were counted on: the last full rebuild's (today without one)."""
    last_full = SummaryRefresh.objects.filter(full=True).order_by("-refreshed_at").first()
    if last_full is None:
        return today or timezone.localdate()
    return last_full.age_bands_on or timezone.localdate(last_full.refreshed_at)


def summaries_full_due(today: date | None = None) -> bool:
    """Age bands shift with the date: a full rebuild is due once the last one counted them on another day."""
    return age_bands_day(today) != (today or timezone.localdate())


def summaries_refresh_incremental(*, today: date | None = None) -> SummaryRefresh | None:
    """Recount the summary rows of the keys changed since the last refresh; None when nothing changed.

    One transaction, under the refresh lock: the dashboard sees the old rows or the new, never a half.
    """
    started = time.monotonic()
    with transaction.atomic():
        refresh_run_lock()
        work_memory_raise()
        if connection.vendor == "postgresql":  # a few thousand groups: hash them, never sort a million rows
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_sort = off")
        keys = summary_changes_take()
        if not keys:
            return None
        bands_on = age_bands_day(today)
        _registry_rewrite(keys.locations, bands_on)
        _beneficiary_rewrite(keys.plans, keys.plan_locations)
        _payment_rewrite(keys.cycles, keys.cycle_locations)
        if keys.people_added:
            _people_add(keys.people_added, keys, bands_on)
        return SummaryRefresh.objects.create(
            refreshed_at=timezone.now(), seconds=time.monotonic() - started, full=False, age_bands_on=bands_on
        )
