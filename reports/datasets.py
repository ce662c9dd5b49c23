"""What a report can be about: each dataset's scoped rows, groupings, number fields and filter variables.

A grouping is a key stored on the report (`status`, `location:1`, `month:registration_date`,
`age_band`, `custom:education`); it becomes one ORM expression in the GROUP BY, and its raw values get
labels afterwards (one query for locations, plans or cycles, never one per row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case as SqlCase
from django.db.models import CharField, Expression, F, Model, QuerySet, Value
from django.db.models import When as SqlWhen
from django.db.models.functions import Substr, TruncDate, TruncMonth

from registry.expressions import (
    T_DATE,
    T_INTEGER,
    T_NUMBER,
    T_STRING,
    CompileEnv,
    ExpressionContext,
    choice_type,
    household_context,
    individual_context,
    linked_context,
)
from registry.expressions.contexts import add_location_fields, years_before
from registry.expressions.nodes import NUMBER
from registry.models import PATH_STEP, Location, LocationLevel, Sex

if TYPE_CHECKING:
    from programs.models import BenefitPlan

User = AbstractBaseUser | AnonymousUser

NOT_SET = "(not set)"
AGE_BAND_YEARS = 10
AGE_BAND_LAST = 80  # the last band is "80+"
UNKNOWN_AGE = "unknown"
MAX_LOCATION_DEPTH = 6
SEGMENT = PATH_STEP + 1


class ReportFieldError(Exception):
    """A grouping or measure field the dataset does not have (or no longer has): says which and why."""


def age_bands() -> list[str]:
    bands = [f"{start}-{start + AGE_BAND_YEARS - 1}" for start in range(0, AGE_BAND_LAST, AGE_BAND_YEARS)]
    return [*bands, f"{AGE_BAND_LAST}+"]


# --- groupings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """`sql(vendor)` reads the grouping's value from the row `{t}` of `model` that the foreign key
    column `fk` (an ORM path on the dataset's model) points to, with `params` for its placeholders."""

    fk: str
    model: type[Model]
    sql: Callable[[str], str]
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Grouping:
    """One way to group a dataset. `build` gives the GROUP BY expression; `labels` names raw values
    and gives their display order (raw values it does not know sort last, by their text)."""

    key: str
    label: str
    build: Callable[[ExpressionContext, CompileEnv], Expression]
    labels: Callable[[list[Any]], dict[Any, str]] = lambda values: {}
    # A grouping that is a value of a small table the rows point to (a location's path prefix, a
    # payroll's month) is rolled up from the figures per foreign key: the big table is never joined.
    rollup: Rollup | None = None

    def describe(self, values: Iterable[Any]) -> tuple[dict[Any, str], dict[Any, int]]:
        """Labels of the raw values, and each value's position in the display order."""
        values = list(dict.fromkeys(values))
        known = self.labels([v for v in values if v is not None])
        ordered = [v for v in known if v in values]
        rest = sorted((v for v in values if v not in known and v is not None), key=str)
        order = {value: position for position, value in enumerate([*ordered, *rest, None])}
        labels = {value: known.get(value, _plain(value)) for value in values}
        return labels, order


def _plain(value: Any) -> str:
    if value is None:
        return NOT_SET
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def field_grouping(key: str, label: str, path: str, choices: Iterable[tuple[str, str]] = ()) -> Grouping:
    names = dict(choices)

    def labels(values: list[Any]) -> dict[Any, str]:
        return {value: name for value, name in names.items() if value in values}

    return Grouping(key, label, lambda context, env: F(env.path(path)), labels)


def model_grouping(
    key: str, label: str, path: str, model: type[Model], *, name: Callable[[Model], str], order_by: str
) -> Grouping:
    """Group by a foreign key id; the ids are named by one query on `model`, in `order_by` order."""

    def labels(values: list[Any]) -> dict[Any, str]:
        return {obj.pk: name(obj) for obj in model._default_manager.filter(pk__in=values).order_by(order_by)}

    return Grouping(key, label, lambda context, env: F(env.path(path)), labels)


def location_grouping(depth: int, level_name: str, path: str = "location") -> Grouping:
    """The ancestor at `depth` of each location: a prefix of its materialised path (no join per level)."""
    length = SEGMENT * (depth + 1)

    def build(context: ExpressionContext, env: CompileEnv) -> Expression:
        return Substr(F(env.path(f"{path}__path")), 1, length)

    def labels(values: list[Any]) -> dict[Any, str]:
        names = dict(
            Location.objects.filter(path__in=values).order_by("name", "path").values_list("path", "name")
        )
        # Rows kept at a higher level than `depth` have a shorter prefix: named after that location.
        return {
            path_value: (name if len(path_value) == length else f"{name} (no {level_name.lower()})")
            for path_value, name in names.items()
        }

    rollup = Rollup(f"{path}_id", Location, lambda vendor: "SUBSTR({t}.path, 1, %s)", (length,))
    return Grouping(f"location:{depth}", f"Location: {level_name}", build, labels, rollup=rollup)


def age_band_grouping(path: str = "birth_date") -> Grouping:
    def build(context: ExpressionContext, env: CompileEnv) -> Expression:
        # Born after (today - N years) means younger than N: the first band whose upper bound holds.
        born = env.path(path)
        whens = [
            SqlWhen(**{f"{born}__gt": years_before(env.today, start + AGE_BAND_YEARS)}, then=Value(band))
            for start, band in zip(range(0, AGE_BAND_LAST, AGE_BAND_YEARS), age_bands(), strict=False)
        ]
        return SqlCase(
            *whens,
            SqlWhen(**{f"{born}__isnull": False}, then=Value(age_bands()[-1])),
            default=Value(UNKNOWN_AGE),
            output_field=CharField(),
        )

    def labels(values: list[Any]) -> dict[Any, str]:
        return {band: band for band in [*age_bands(), UNKNOWN_AGE] if band in values}

    return Grouping("age_band", "Age band", build, labels)


def month_grouping(field: str, label: str, *, rollup: Rollup | None = None) -> Grouping:
    def build(context: ExpressionContext, env: CompileEnv) -> Expression:
        return TruncMonth(env.path(field))

    def labels(values: list[Any]) -> dict[Any, str]:
        # A rolled-up month comes back as text on SQLite ("2026-01-01").
        return {value: str(value)[:7] for value in sorted(values, key=str)}

    return Grouping(f"month:{field}", f"Month of {label}", build, labels, rollup=rollup)


def _month_sql(column: str) -> Callable[[str], str]:
    def sql(vendor: str) -> str:
        if vendor == "postgresql":
            return f"CAST(DATE_TRUNC('month', {{t}}.{column}) AS date)"
        return f"DATE({{t}}.{column}, 'start of month')"

    return sql


def custom_grouping(name: str, title: str) -> Grouping:
    """A custom field (`data.<name>` of the dataset's context): the schema's values as they are."""
    variable = f"data.{name}"

    def build(context: ExpressionContext, env: CompileEnv) -> Expression:
        found = context.lookup(variable)
        if found is None:
            raise ReportFieldError(f'the custom field "{name}" is no longer in the schema')
        return found.build(env)

    return Grouping(f"custom:{name}", f"Custom field: {title}", build)


# --- datasets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    key: str
    label: str
    queryset: Callable[[User], QuerySet]
    context: Callable[[BenefitPlan | None], ExpressionContext]
    groupings: Callable[[], list[Grouping]]
    schema: Callable[[BenefitPlan | None], Mapping[str, Any]]  # whose fields are `custom:<key>`
    plan_path: str = ""  # the ORM path to the benefit plan, for datasets a report may limit to one plan
    _groupings: dict[Any, dict[str, Grouping]] = field(default_factory=dict, compare=False, repr=False)

    def all_groupings(self, plan: BenefitPlan | None = None) -> dict[str, Grouping]:
        """Every grouping (custom fields from the current schema), read once per Dataset object."""
        cache_key = plan.pk if plan is not None else None
        if cache_key not in self._groupings:
            groupings = {grouping.key: grouping for grouping in self.groupings()}
            for name, spec in custom_field_specs(self.schema(plan)):
                groupings[f"custom:{name}"] = custom_grouping(name, spec.get("title") or name)
            self._groupings[cache_key] = groupings
        return self._groupings[cache_key]

    def grouping(self, key: str, plan: BenefitPlan | None = None) -> Grouping:
        """The grouping of `key`, or a ReportFieldError saying what is wrong with it."""
        groupings = self.all_groupings(plan)
        if key in groupings:
            return groupings[key]
        if key.startswith("custom:"):
            name = key.removeprefix("custom:")
            where = (
                f"the schema of plan {plan.code}" if plan is not None else f"the {self.label.lower()} schema"
            )
            if self.plan_path and plan is None:
                raise ReportFieldError(
                    f'custom fields of {self.label.lower()} need a plan: choose one to use "{name}"'
                )
            raise ReportFieldError(f'the custom field "{name}" is not in {where} (removed or misspelt)')
        if key.startswith("location:"):
            raise ReportFieldError(f'"{key}" is not a location level of {self.label.lower()}')
        listed = ", ".join(groupings)
        raise ReportFieldError(f'{self.label} cannot be grouped by "{key}"; choose one of: {listed}')

    def numeric_fields(self, plan: BenefitPlan | None = None) -> list[str]:
        context = self.context(plan)
        return [v.name for v in context if v.type.kind == NUMBER and not v.is_constant]


def custom_field_specs(schema: Mapping[str, Any] | None) -> list[tuple[str, Mapping[str, Any]]]:
    """The properties of a schema a report can group by: text with choices, whole numbers, yes/no, text."""
    properties = (schema or {}).get("properties") or {}
    return [
        (name, spec)
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and spec.get("type") in ("string", "integer", "boolean", "number")
    ]


def location_groupings(path: str = "location") -> list[Grouping]:
    levels = dict(LocationLevel.objects.order_by("depth").values_list("depth", "name"))
    deepest = max([*levels, 2])
    return [
        location_grouping(depth, levels.get(depth, f"level {depth}"), path)
        for depth in range(0, min(deepest, MAX_LOCATION_DEPTH) + 1)
    ]


def _individuals() -> Dataset:
    from registry.models import IndividualStatus, RegistrationSource
    from registry.schemas import schema_for
    from registry.selectors import individual_list

    def context(plan: BenefitPlan | None) -> ExpressionContext:
        return individual_context(
            individual_schema=schema_for("individual"), household_schema=schema_for("household")
        )

    def groupings() -> list[Grouping]:
        return [
            *location_groupings(),
            field_grouping("sex", "Sex", "sex", Sex.choices),
            age_band_grouping(),
            field_grouping("status", "Status", "status", IndividualStatus.choices),
            field_grouping(
                "registration_source",
                "Registration source",
                "registration_source",
                RegistrationSource.choices,
            ),
            month_grouping("registration_date", "registration"),
        ]

    return Dataset(
        "individuals",
        "Individuals",
        lambda user: individual_list(user=user),
        context,
        groupings,
        lambda plan: schema_for("individual"),
    )


def _households() -> Dataset:
    from registry.schemas import schema_for
    from registry.selectors import household_list

    def context(plan: BenefitPlan | None) -> ExpressionContext:
        context = household_context(
            household_schema=schema_for("household"), individual_schema=schema_for("individual")
        )
        # The registry keeps `size` current: read the column rather than counting members per row.
        context.add("size", T_INTEGER, "size", description="Number of current members", replace_existing=True)
        return context

    def groupings() -> list[Grouping]:
        return [
            *location_groupings(),
            field_grouping("size", "Household size", "size"),
            month_grouping("registration_date", "registration"),
        ]

    return Dataset(
        "households",
        "Households",
        lambda user: household_list(user=user),
        context,
        groupings,
        lambda plan: schema_for("household"),
    )


def _plan_label(plan: Model) -> str:
    return f"{plan.name} ({plan.code})"  # type: ignore[attr-defined]


def _beneficiaries() -> Dataset:
    from programs.models import BeneficiaryStatus, BenefitPlan
    from programs.selectors import beneficiary_list
    from registry.schemas import schema_for

    def context(plan: BenefitPlan | None) -> ExpressionContext:
        context = linked_context(
            individual_path="individual",
            household_path="household",
            individual_schema=schema_for("individual"),
            household_schema=schema_for("household"),
        )
        context.add("status", choice_type(BeneficiaryStatus.choices), "status", replace_existing=True)
        context.add("plan", T_STRING, "benefit_plan__code", description="Code of the benefit plan")
        context.add(
            "enrolled_date",
            T_DATE,
            lambda env: _date_of(env.path("enrolled_at")),
            description="Day of enrolment",
        )
        # `location`, `region`...: where the beneficiary was enrolled (households' too), not the person's.
        for variable in add_location_fields(ExpressionContext(), path="location"):
            context.add(variable.name, variable.type, variable.build, replace_existing=True)
        return context.add_schema_fields(plan.beneficiary_schema if plan is not None else None)

    def groupings() -> list[Grouping]:
        return [
            *location_groupings(),
            model_grouping(
                "plan", "Benefit plan", "benefit_plan_id", BenefitPlan, name=_plan_label, order_by="name"
            ),
            field_grouping("status", "Status", "status", BeneficiaryStatus.choices),
            field_grouping("sex", "Sex (individual plans)", "individual__sex", Sex.choices),
            age_band_grouping("individual__birth_date"),
            month_grouping("enrolled_at", "enrolment"),
            month_grouping("status_changed_at", "the last status change"),
        ]

    return Dataset(
        "beneficiaries",
        "Beneficiaries",
        lambda user: beneficiary_list(user=user),
        context,
        groupings,
        lambda plan: plan.beneficiary_schema if plan is not None else {},
        plan_path="benefit_plan",
    )


def _benefits() -> Dataset:
    from payments.models import BenefitStatus, PaymentCycle, PaymentPlan, Payroll, PayrollStatus
    from payments.selectors import benefit_list
    from programs.models import BenefitPlan

    _PLAN_OF_PAYROLL = (
        f"(SELECT payment_plan.benefit_plan_id FROM {PaymentPlan._meta.db_table} payment_plan "
        "WHERE payment_plan.id = {t}.payment_plan_id)"
    )

    def context(plan: BenefitPlan | None) -> ExpressionContext:
        context = (
            ExpressionContext()
            .add("amount", T_NUMBER, "amount", description="Amount issued")
            .add("amount_paid", T_NUMBER, "amount_paid", description="Amount the provider reported paid")
            .add("status", choice_type(BenefitStatus.choices), "status")
            .add("payroll_status", choice_type(PayrollStatus.choices), "payroll__status")
            .add("cycle", T_STRING, "cycle__code", description="Code of the payment cycle")
            .add(
                "plan",
                T_STRING,
                "payroll__payment_plan__benefit_plan__code",
                description="Benefit plan code",
            )
            .add("payment_date", T_DATE, "payroll__payment_date")
        )
        return add_location_fields(context, path="location")

    def groupings() -> list[Grouping]:
        return [
            *location_groupings(),
            replace(
                model_grouping(
                    "plan",
                    "Benefit plan",
                    "payroll__payment_plan__benefit_plan_id",
                    BenefitPlan,
                    name=_plan_label,
                    order_by="name",
                ),
                rollup=Rollup("payroll_id", Payroll, lambda vendor: _PLAN_OF_PAYROLL),
            ),
            model_grouping(
                "cycle", "Payment cycle", "cycle_id", PaymentCycle, name=str, order_by="start_date"
            ),
            field_grouping("status", "Status", "status", BenefitStatus.choices),
            replace(
                field_grouping("payroll_status", "Payroll status", "payroll__status", PayrollStatus.choices),
                rollup=Rollup("payroll_id", Payroll, lambda vendor: "{t}.status"),
            ),
            field_grouping("sex", "Sex of the recipient", "recipient__sex", Sex.choices),
            age_band_grouping("recipient__birth_date"),
            month_grouping(
                "payroll__payment_date",
                "the payment date",
                rollup=Rollup("payroll_id", Payroll, _month_sql("payment_date")),
            ),
            month_grouping("paid_at", "payment (reported)"),
        ]

    return Dataset(
        "benefits",
        "Benefits",
        lambda user: benefit_list(user=user),
        context,
        groupings,
        lambda plan: {},
        plan_path="payroll__payment_plan__benefit_plan",
    )


def _approvals() -> Dataset:
    from approvals.actions import action_label
    from approvals.models import TaskState
    from approvals.selectors import task_list

    def context(plan: BenefitPlan | None) -> ExpressionContext:
        return (
            ExpressionContext()
            .add("action", T_STRING, "action", description="The action's name")
            .add("state", choice_type(TaskState.choices), "state")
            .add("amount", T_NUMBER, "amount", description="The amount the task is about, if any")
            .add("created_date", T_DATE, lambda env: _date_of(env.path("created_at")))
            .add("current_level", T_INTEGER, "current_level")
        )

    def action_labels(values: list[Any]) -> dict[Any, str]:
        return {value: action_label(value) for value in sorted(values, key=lambda v: action_label(v))}

    def groupings() -> list[Grouping]:
        return [
            Grouping("action", "Action", lambda context, env: F(env.path("action")), action_labels),
            field_grouping("state", "State", "state", TaskState.choices),
            month_grouping("created_at", "the request"),
            month_grouping("decided_at", "the decision"),
        ]

    return Dataset(
        "approvals",
        "Approvals",
        lambda user: task_list(user=user),
        context,
        groupings,
        lambda plan: {},
    )


def _date_of(path: str) -> Expression:
    return TruncDate(path)


DATASET_CHOICES = [
    ("individuals", "Individuals"),
    ("households", "Households"),
    ("beneficiaries", "Beneficiaries"),
    ("benefits", "Benefits (payments)"),
    ("approvals", "Approvals (tasks)"),
]
_BUILDERS: dict[str, Callable[[], Dataset]] = {
    "individuals": _individuals,
    "households": _households,
    "beneficiaries": _beneficiaries,
    "benefits": _benefits,
    "approvals": _approvals,
}


def dataset_get(key: str) -> Dataset:
    try:
        return _BUILDERS[key]()
    except KeyError:
        raise ReportFieldError(f'there is no dataset "{key}"') from None
