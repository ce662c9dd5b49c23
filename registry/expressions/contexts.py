"""Ready contexts over the registry: individuals, households, and the parts to compose others from."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db.models import Expression, F, Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Substr

from registry.expressions.context import Builder, CompileEnv, ExpressionContext
from registry.expressions.nodes import T_BOOLEAN, T_DATE, T_INTEGER, T_STRING, choice_type
from registry.expressions.sql import DATE_FIELD, INTEGER_FIELD, TEXT_FIELD, WholeYearsBetween
from registry.models import (
    PATH_STEP,
    Household,
    HouseholdMember,
    HouseholdRole,
    Individual,
    IndividualStatus,
    Location,
    RegistrationSource,
    Sex,
)

DEFAULT_LOCATION_LEVELS: Mapping[str, int] = {"region": 0, "district": 1}

# name -> (lowest age, highest age or None)
AGE_BANDS: Mapping[str, tuple[int, int | None]] = {
    "count_age_0_4": (0, 4),
    "count_age_5_17": (5, 17),
    "count_age_18_59": (18, 59),
    "count_age_60_plus": (60, None),
    "count_age_65_plus": (65, None),
    "count_under_18": (0, 17),
}


def years_before(day: date, years: int) -> date:
    """The date `years` before `day`; 29 February falls back to the 28th, as a birthday does."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def add_location_fields(
    context: ExpressionContext, *, path: str = "location", levels: Mapping[str, int] | None = None
) -> ExpressionContext:
    """`location` (code), `location_name`, and each level's name and code (`region`, `region_code`)."""
    context.add("location", T_STRING, f"{path}__code", description="Code of the location")
    context.add("location_name", T_STRING, f"{path}__name", description="Name of the location")
    for level, depth in (DEFAULT_LOCATION_LEVELS if levels is None else levels).items():
        for suffix, column in (("", "name"), ("_code", "code")):
            context.add(
                f"{level}{suffix}",
                T_STRING,
                _ancestor(path, depth, column),
                description=f"{column.capitalize()} of the {level} (level {depth}) the location lies in",
            )
    return context


def _ancestor(path: str, depth: int, column: str) -> Builder:
    def build(env: CompileEnv) -> Expression:
        prefix = Substr(OuterRef(env.path(f"{path}__path")), 1, (depth + 1) * (PATH_STEP + 1))
        ancestors = Location.objects.filter(depth=depth, path=prefix).order_by()
        return Subquery(ancestors.values(column)[:1], output_field=TEXT_FIELD)

    return build


def _age(env: CompileEnv) -> Expression:
    return WholeYearsBetween(F(env.path("birth_date")), Value(env.today, output_field=DATE_FIELD))


def individual_fields(
    *, individual_schema: Mapping[str, Any] | None = None, location_levels: Mapping[str, int] | None = None
) -> ExpressionContext:
    """The individual's own fields (base model Individual), without household values."""
    context = (
        ExpressionContext()
        .add("given_name", T_STRING, "given_name")
        .add("family_name", T_STRING, "family_name")
        .add("sex", choice_type(Sex.choices), "sex")
        .add("birth_date", T_DATE, "birth_date")
        .add("birth_date_estimated", T_BOOLEAN, "birth_date_estimated")
        .add("age", T_INTEGER, _age, description="Age in whole years (null without a birth date)")
        .add("status", choice_type(IndividualStatus.choices), "status")
        .add("registration_date", T_DATE, "registration_date")
        .add("registration_source", choice_type(RegistrationSource.choices), "registration_source")
    )
    add_location_fields(context, levels=location_levels)
    return context.add_schema_fields(individual_schema)


def _member_count(**conditions: Any) -> Builder:
    def build(env: CompileEnv) -> Expression:
        members = HouseholdMember.objects.filter(
            household=OuterRef(env.path("pk")), end_date__isnull=True, **conditions
        ).order_by()
        # An aggregate without GROUP BY yields one row, 0 for no members: no COALESCE needed.
        # COUNT(*) lets PostgreSQL count from the (household, end_date) index alone.
        counted = members.annotate(member_count=Func(template="COUNT(*)", output_field=INTEGER_FIELD))
        return Subquery(counted.values("member_count"), output_field=INTEGER_FIELD)

    return build


def _age_band_count(lowest: int, highest: int | None) -> Builder:
    def build(env: CompileEnv) -> Expression:
        born = {"individual__birth_date__lte": years_before(env.today, lowest)}
        if highest is not None:
            born["individual__birth_date__gt"] = years_before(env.today, highest + 1)
        return _member_count(**born)(env)

    return build


def household_fields(
    *,
    household_schema: Mapping[str, Any] | None = None,
    individual_schema: Mapping[str, Any] | None = None,
    location_levels: Mapping[str, int] | None = None,
) -> ExpressionContext:
    """The household's own values (base model Household): size, member counts, custom fields, head.*."""
    context = (
        ExpressionContext()
        .add("code", T_STRING, "code")
        .add("registration_date", T_DATE, "registration_date")
        .add("household_size", T_INTEGER, _member_count(), description="Number of current members")
        .add("size", T_INTEGER, _member_count(), description="Number of current members")
        .add("count_female", T_INTEGER, _member_count(individual__sex=Sex.FEMALE))
        .add("count_male", T_INTEGER, _member_count(individual__sex=Sex.MALE))
    )
    for role, label in HouseholdRole.choices:
        context.add(
            f"count_{role}", T_INTEGER, _member_count(role=role), description=f"Current members: {label}"
        )
    for name, (lowest, highest) in AGE_BANDS.items():
        ages = f"{lowest}+" if highest is None else f"{lowest} to {highest}"
        context.add(
            name, T_INTEGER, _age_band_count(lowest, highest), description=f"Current members aged {ages}"
        )
    add_location_fields(context, levels=location_levels)
    context.add_schema_fields(household_schema)
    context.include_related(
        individual_fields(individual_schema=individual_schema, location_levels=location_levels),
        model=Individual,
        link=lambda env: Q(
            memberships__household=OuterRef(env.path("pk")),
            memberships__end_date__isnull=True,
            memberships__role=HouseholdRole.HEAD,
        ),
        prefix="head",
    )
    return context


def household_context(
    *,
    household_schema: Mapping[str, Any] | None = None,
    individual_schema: Mapping[str, Any] | None = None,
    extra_constants: Mapping[str, Any] | None = None,
    location_levels: Mapping[str, int] | None = None,
) -> ExpressionContext:
    """Expressions over Household rows: `household_size`, `count_child`, `data.x`, `head.age`..."""
    context = household_fields(
        household_schema=household_schema,
        individual_schema=individual_schema,
        location_levels=location_levels,
    )
    return _with_constants(context, extra_constants)


def individual_context(
    *,
    individual_schema: Mapping[str, Any] | None = None,
    household_schema: Mapping[str, Any] | None = None,
    extra_constants: Mapping[str, Any] | None = None,
    location_levels: Mapping[str, int] | None = None,
) -> ExpressionContext:
    """Expressions over Individual rows: own fields, `data.x`, and the current household's values
    as `household.<name>` (plus `household_size` and the `count_*` names unprefixed)."""
    context = individual_fields(individual_schema=individual_schema, location_levels=location_levels)
    add_current_household(
        context,
        household_fields(
            household_schema=household_schema,
            individual_schema=individual_schema,
            location_levels=location_levels,
        ),
    )
    return _with_constants(context, extra_constants)


def add_current_household(context: ExpressionContext, household: ExpressionContext) -> ExpressionContext:
    """Household values for a context over Individual, read through the current membership."""

    def current(env: CompileEnv) -> Q:
        return Q(memberships__individual=OuterRef(env.path("pk")), memberships__end_date__isnull=True)

    context.include_related(household, model=Household, link=current, prefix="household")
    context.include_related(
        household, model=Household, link=current, names=["household_size", "count_*"], skip_existing=True
    )

    def role(env: CompileEnv) -> Expression:
        membership = HouseholdMember.objects.filter(
            individual=OuterRef(env.path("pk")), end_date__isnull=True
        )
        return Subquery(membership.order_by().values("role")[:1], output_field=TEXT_FIELD)

    return context.add(
        "household_role", choice_type(HouseholdRole.choices), role, description="Role in the household"
    )


def _with_constants(context: ExpressionContext, constants: Mapping[str, Any] | None) -> ExpressionContext:
    for name, value in (constants or {}).items():
        context.add_constant(name, value)
    return context


def linked_context(
    *,
    individual_path: str | None = "individual",
    household_path: str | None = "household",
    individual_schema: Mapping[str, Any] | None = None,
    household_schema: Mapping[str, Any] | None = None,
    extra_constants: Mapping[str, Any] | None = None,
    location_levels: Mapping[str, int] | None = None,
) -> ExpressionContext:
    """Variables for a model with foreign keys to an individual and/or a household (a beneficiary).

    The individual's variables come as `individual.<name>` and bare (`age`, `data.x`); the household's
    as `household.<name>`, with `household_size` and `count_*` also bare. Without a household path the
    household is the individual's current one. Without an individual path the household's variables
    are also bare. The caller then adds the model's own fields; `add_schema_fields` of a plan schema
    replaces a bare `data.x` of the registry with the plan's.
    """
    if individual_path is None and household_path is None:
        raise ValueError("linked_context needs an individual path, a household path or both")
    context = ExpressionContext()
    household = household_fields(
        household_schema=household_schema,
        individual_schema=individual_schema,
        location_levels=location_levels,
    )
    if individual_path is not None:
        if household_path is None:
            individual = individual_context(
                individual_schema=individual_schema,
                household_schema=household_schema,
                location_levels=location_levels,
            )
        else:
            individual = individual_fields(
                individual_schema=individual_schema, location_levels=location_levels
            )
        context.include(individual, path=individual_path, prefix="individual")
        context.include(individual, path=individual_path)
    if household_path is not None:
        context.include(household, path=household_path, prefix="household")
        bare = ["household_size", "count_*"] if individual_path is not None else None
        context.include(household, path=household_path, names=bare, skip_existing=True)
    return _with_constants(context, extra_constants)
