"""Summaries of the registry: people by location, sex, age band and month of registration; households."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import Case, CharField, Count, DateField, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth

from portal.models import RegistrySummary, SummaryGrain, SummaryKind
from portal.summaries.grains import FINE_GRAIN, SummaryFilters, User, insert_grouped, location_join, scope_q
from registry.models import Household, Individual

AGE_BAND_YEARS = 10
AGE_BAND_LAST = 80  # "80+"
UNKNOWN_AGE = "unknown"


def age_bands() -> list[str]:
    """Band labels, youngest first: "0-9" ... "70-79", "80+"."""
    bands = [f"{start}-{start + AGE_BAND_YEARS - 1}" for start in range(0, AGE_BAND_LAST, AGE_BAND_YEARS)]
    return [*bands, f"{AGE_BAND_LAST}+"]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_band_expression(today: date) -> Case:
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


REGISTRY_COLUMNS = [
    "kind",
    "grain",
    "location",
    "location_path",
    "sex",
    "age_band",
    "registered_month",
    "count",
]


def registry_summaries_write(
    *,
    today: date,
    step: Callable[[int, str], None],
    location_ids: list[int] | None = None,
    added: tuple[Q, Q] | None = None,
    grain: int = FINE_GRAIN,
) -> None:
    """Write the per-location rows of people (step 0), then households (step 1): INSERT ... SELECT.

    With `location_ids`, only those locations' people and households are counted (the caller deleted
    their rows); with `added` (conditions on people, on households), only those (an increment, written at
    `grain` for the caller to merge); else every row is replaced.
    """
    where = Q() if location_ids is None else Q(location_id__in=location_ids)
    people_where, households_where = added or (where, where)
    ordered = location_ids is None and added is None
    if ordered:
        RegistrySummary.objects.all().delete()
    people = (
        Individual.objects.filter(people_where)
        .annotate(
            band=age_band_expression(today), month=TruncMonth("registration_date", output_field=DateField())
        )
        .values("location_id", "sex", "band", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    insert_grouped(
        RegistrySummary,
        REGISTRY_COLUMNS,
        people,
        select=f"'{SummaryKind.INDIVIDUAL.value}', {int(grain)}, a.location_id, l.path, a.sex, a.band, "
        "a.month, a.n",
        joins=location_join(),
        ordered=ordered,
    )
    step(1, "Counting households")
    households = (
        Household.objects.filter(households_where)
        .annotate(month=TruncMonth("registration_date", output_field=DateField()))
        .values("location_id", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    insert_grouped(
        RegistrySummary,
        REGISTRY_COLUMNS,
        households,
        select=f"'{SummaryKind.HOUSEHOLD.value}', {int(grain)}, a.location_id, l.path, '', '', a.month, a.n",
        joins=location_join(),
        ordered=ordered,
    )


def registry_summary_list(
    *, user: User, filters: SummaryFilters, kind: str | None, grain: int = SummaryGrain.LOCATION
) -> QuerySet[RegistrySummary]:
    """Rows of people or households (`kind`; None for both) the user may see, filtered, at one grain."""
    # Both kinds as an IN list, so PostgreSQL still walks the (grain, kind, path) index by path prefix.
    kinds = [kind] if kind else list(SummaryKind.values)
    qs = RegistrySummary.objects.filter(scope_q(user), kind__in=kinds, grain=grain)
    if filters.location_path:
        qs = qs.filter(location_path__startswith=filters.location_path)
    if filters.since:
        qs = qs.filter(registered_month__gte=filters.since)
    return qs
