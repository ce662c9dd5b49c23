"""Advanced-search FilterSets over individuals and households, one filter per custom field included."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import RangeWidget

from access.records import records_in_scope
from registry.dates import LocaleDateField, LocaleDateInput
from registry.hooks import search_extensions
from registry.models import (
    Household,
    HouseholdMember,
    HouseholdRole,
    Individual,
    IndividualStatus,
    RegistrationSource,
    Sex,
)
from registry.schemas import schema_for, schema_property_names
from registry.selectors import document_number_condition, household_list, individual_list, location_list

CUSTOM_PREFIX = "cf_"
FIELD_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
YES_NO = [("true", "Yes"), ("false", "No")]
MEMBERSHIP = "membership"  # conditions on the current household membership share one subquery


def registry_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of the custom fields of `kind` ("individual" or "household")."""
    return schema_for(kind)


def custom_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, property schema) of the searchable top-level properties, in the schema's order."""
    properties = schema.get("properties") or {}
    return [
        (key, properties[key])
        for key in schema_property_names(schema)
        if FIELD_KEY.match(key) and isinstance(properties[key], dict)
    ]


def property_type(prop: dict[str, Any]) -> str:
    """One of number, integer, boolean, date, enum, many (several choices), string."""
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "array":
        return "many"
    if "enum" in prop or ("oneOf" in prop and all("const" in o for o in prop["oneOf"])):
        return "enum"
    if kind == "string" and prop.get("format") == "date":
        return "date"
    return kind if kind in {"number", "integer", "boolean"} else "string"


def enum_choices(prop: dict[str, Any]) -> list[tuple[str, str]]:
    if "enum" in prop:
        return [(str(v), str(v).replace("_", " ").capitalize()) for v in prop["enum"] if v is not None]
    return [(str(o["const"]), str(o.get("title", o["const"]))) for o in prop["oneOf"]]


def json_equals(key: str, value: Any) -> Q:
    """data[key] == value; a containment test on PostgreSQL so a GIN index on `data` serves it."""
    if connection.vendor == "postgresql":
        return Q(data__contains={key: value})
    return Q(**{f"data__{key}": value})


class MinMaxField(forms.MultiValueField):
    """Two optional bounds; the lower must not exceed the upper."""

    widget = RangeWidget

    def __init__(self, fields: tuple[forms.Field, forms.Field], **kwargs: Any) -> None:
        kwargs.setdefault("require_all_fields", False)
        super().__init__(fields, **kwargs)
        for field in self.fields:
            field.required = False

    def compress(self, data_list: list[Any]) -> slice | None:
        if not data_list or all(v in (None, "") for v in data_list):
            return None
        low, high = data_list
        if low is not None and high is not None and low > high:
            raise ValidationError(
                "The lower bound (%(low)s) is above the upper bound (%(high)s).",
                code="range_order",
                params={"low": low, "high": high},
            )
        return slice(low, high)


class RangeWidgetWithInputs(RangeWidget):
    def __init__(self, input_type: str = "number", step: str | None = None) -> None:
        attrs = {"step": step} if step else {}
        if input_type == "date":
            widgets = (LocaleDateInput(), LocaleDateInput())
        else:
            widgets = (forms.NumberInput(attrs=attrs), forms.NumberInput(attrs=attrs))
        forms.MultiWidget.__init__(self, widgets)


def range_field_factory(kind: str):  # type: ignore[no-untyped-def]
    def build(**kwargs: Any) -> MinMaxField:
        if kind == "date":
            fields = (LocaleDateField(), LocaleDateField())
            widget = RangeWidgetWithInputs("date")
        elif kind == "integer":
            fields = (forms.IntegerField(), forms.IntegerField())
            widget = RangeWidgetWithInputs("number", "1")
        else:
            fields = (forms.DecimalField(), forms.DecimalField())
            widget = RangeWidgetWithInputs("number", "any")
        kwargs["widget"] = widget
        return MinMaxField(fields, **kwargs)

    return build


class ConditionFilter(django_filters.Filter):
    """A filter turning its cleaned value into a Q, so a FilterSet applies them all in one `filter()`."""

    scope: str = ""

    def condition(self, value: Any) -> Q | None:
        raise NotImplementedError

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        condition = None if value in django_filters.constants.EMPTY_VALUES else self.condition(value)
        return qs if condition is None else qs.filter(condition)


class RangeFilter(ConditionFilter):
    """min/max on a field: a number, an integer or a date, optionally a custom field in `data`."""

    def __init__(self, *args: Any, kind: str = "number", json_key: str | None = None, **kwargs: Any) -> None:
        self.kind, self.json_key = kind, json_key
        super().__init__(*args, **kwargs)

    @property
    def field_class(self):  # type: ignore[no-untyped-def, override]
        return range_field_factory(self.kind)

    def condition(self, value: slice) -> Q | None:
        field = f"data__{self.json_key}" if self.json_key else self.field_name
        condition = Q()
        for bound, lookup in ((value.start, "gte"), (value.stop, "lte")):
            if bound is None:
                continue
            if isinstance(bound, Decimal):
                bound = float(bound)
            elif isinstance(bound, date) and self.json_key:
                bound = bound.isoformat()
            condition &= Q(**{f"{field}__{lookup}": bound})
        return condition


class AgeRangeFilter(ConditionFilter):
    """Age in whole years, as bounds on birth_date computed once from today (the index serves it)."""

    field_class = staticmethod(range_field_factory("integer"))

    def condition(self, value: slice) -> Q | None:
        today = date.today()
        condition = Q()
        if value.start is not None:
            condition &= Q(birth_date__lte=years_before(today, value.start))
        if value.stop is not None:
            condition &= Q(birth_date__gt=years_before(today, value.stop + 1))
        return condition


def years_before(day: date, years: int) -> date:
    years = max(0, min(years, day.year - 1))
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class PrefixFilter(ConditionFilter):
    """Starts with, ignoring case (served by an index on UPPER(field) in the "C" collation)."""

    field_class = forms.CharField

    def condition(self, value: str) -> Q | None:
        value = value.strip()
        return Q(**{f"{self.field_name}__istartswith": value}) if value else None


class CodePrefixFilter(PrefixFilter):
    """Starts with, as typed or in capitals: both served by the code's varchar_pattern_ops index."""

    def condition(self, value: str) -> Q | None:
        value = value.strip()
        if not value:
            return None
        condition = Q(**{f"{self.field_name}__startswith": value})
        if value.upper() != value:
            condition |= Q(**{f"{self.field_name}__startswith": value.upper()})
        return condition


class ChoicesFilter(ConditionFilter):
    """Any of the chosen values."""

    field_class = forms.MultipleChoiceField

    def __init__(
        self, *args: Any, json_key: str | None = None, values: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self.json_key, self.values = json_key, values or {}
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(*args, **kwargs)

    def condition(self, value: list[str]) -> Q | None:
        if not value:
            return None
        if self.json_key:
            condition = Q()
            for item in value:
                condition |= json_equals(self.json_key, self.values.get(item, item))
            return condition
        return Q(**{f"{self.field_name}__in": value})


class YesNoFilter(ConditionFilter):
    """Custom boolean field: yes, no or any."""

    field_class = forms.ChoiceField

    def __init__(self, *args: Any, json_key: str, **kwargs: Any) -> None:
        self.json_key = json_key
        kwargs["choices"] = [("", "Any"), *YES_NO]
        super().__init__(*args, **kwargs)

    def condition(self, value: str) -> Q | None:
        return json_equals(self.json_key, value == "true") if value else None


class JsonTextFilter(ConditionFilter):
    """Custom text field: equals, or starts with when the value ends with *."""

    field_class = forms.CharField

    def __init__(self, *args: Any, json_key: str, **kwargs: Any) -> None:
        self.json_key = json_key
        kwargs.setdefault("help_text", "End with * to match the beginning")
        super().__init__(*args, **kwargs)

    def condition(self, value: str) -> Q | None:
        value = value.strip()
        if not value or value == "*":
            return None
        if value.endswith("*"):
            return Q(**{f"data__{self.json_key}__startswith": value.rstrip("*")})
        return json_equals(self.json_key, value)


class LocationFilter(ConditionFilter):
    """The chosen location and everything under it (one prefix match on the materialised path)."""

    field_class = forms.ModelChoiceField

    def condition(self, value: Any) -> Q | None:
        return Q(**{f"{self.field_name}__path__startswith": value.path})


class MembershipFilter(ConditionFilter):
    """A condition on the person's current household membership."""

    scope = MEMBERSHIP


class HouseholdSizeFilter(MembershipFilter):
    field_class = staticmethod(range_field_factory("integer"))

    def condition(self, value: slice) -> Q | None:
        condition = Q()
        if value.start is not None:
            condition &= Q(household__size__gte=value.start)
        if value.stop is not None:
            condition &= Q(household__size__lte=value.stop)
        return condition


class HouseholdRoleFilter(MembershipFilter):
    field_class = forms.MultipleChoiceField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        kwargs["choices"] = HouseholdRole.choices
        super().__init__(*args, **kwargs)

    def condition(self, value: list[str]) -> Q | None:
        return Q(role__in=value) if value else None


class DocumentFilter(ConditionFilter):
    """A number as typed, or its beginning followed by * (registry.selectors.document_number_condition)."""

    field_class = forms.CharField

    def condition(self, value: str) -> Q | None:
        return document_number_condition(value)


class AdvancedFilterSet(django_filters.FilterSet):
    """Adds the custom-field filters from the schema and applies every condition in one `filter()`."""

    schema_kind = ""

    def __init__(
        self,
        data: QueryDict | dict[str, Any] | None = None,
        queryset: QuerySet | None = None,
        *,
        user: AbstractBaseUser | AnonymousUser,
        schema: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.user = user
        super().__init__(data, queryset, **kwargs)
        if "location" in self.filters:
            self.filters["location"].extra["queryset"] = location_list(user=user)
        self.custom_field_names: list[str] = []
        self.schema = registry_schema(self.schema_kind) if schema is None else schema
        for key, prop in custom_fields(self.schema):
            name = CUSTOM_PREFIX + key
            self.filters[name] = custom_field_filter(key, prop)
            self.filters[name].parent = self
            self.custom_field_names.append(name)
        self.add_extension_filters()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        conditions: list[Q] = []
        membership: list[Q] = []
        extended: dict[str, list[Q]] = {extension.name: [] for extension in self.extensions}
        for name, value in self.form.cleaned_data.items():
            flt = self.filters[name]
            if not isinstance(flt, ConditionFilter):
                queryset = flt.filter(queryset, value)
                continue
            if value in django_filters.constants.EMPTY_VALUES:
                continue
            condition = flt.condition(value)
            if condition is None:
                continue
            {MEMBERSHIP: membership, **extended}.get(flt.scope, conditions).append(condition)
        if membership:
            current = HouseholdMember.objects.filter(individual=OuterRef("pk"), end_date__isnull=True)
            conditions.append(Q(Exists(current.filter(*membership))))
        for extension in self.extensions:
            if extended[extension.name]:
                conditions.append(
                    extension.condition(kind=self.schema_kind, conditions=extended[extension.name])
                )
        return queryset.filter(*conditions) if conditions else queryset

    def add_extension_filters(self) -> None:
        """The filters the apps above the registry plug in (`registry.hooks`), e.g. enrolment in a plan."""
        self.extensions = search_extensions()
        for extension in self.extensions:
            for name, flt in extension.filters(kind=self.schema_kind, user=self.user).items():
                self.filters[name] = flt
                flt.parent = self

    @property
    def custom_fields_form(self) -> list[Any]:
        return [self.form[name] for name in self.custom_field_names]

    @property
    def core_fields_form(self) -> list[Any]:
        return [self.form[name] for name in self.filters if name not in self.custom_field_names]


def custom_field_filter(key: str, prop: dict[str, Any]) -> ConditionFilter:
    label = str(prop.get("title") or key.replace("_", " ").capitalize())
    kind = property_type(prop)
    if kind in {"number", "integer", "date"}:
        return RangeFilter(label=label, kind=kind, json_key=key)
    if kind == "boolean":
        return YesNoFilter(label=label, json_key=key)
    if kind == "enum":
        values = {str(v): v for v in prop.get("enum") or [o.get("const") for o in prop.get("oneOf", [])]}
        return ChoicesFilter(label=label, json_key=key, choices=enum_choices(prop), values=values)
    if kind == "many":
        # Any of the ticked choices among the stored ones: `data @> {"key": ["value"]}` on PostgreSQL.
        items = (prop.get("items") or {}).get("enum") or []
        choices = enum_choices({**prop, "enum": items})
        return ChoicesFilter(label=label, json_key=key, choices=choices, values={str(v): [v] for v in items})
    return JsonTextFilter(label=label, json_key=key)


def location_widget(model: type) -> AutocompleteSelect:
    return AutocompleteSelect(model._meta.get_field("location"), admin.site, attrs={"data-width": "100%"})


class IndividualFilter(AdvancedFilterSet):
    schema_kind = "individual"

    given_name = PrefixFilter(label="Given name starts with")
    family_name = PrefixFilter(label="Family name starts with")
    document = DocumentFilter(
        label=_("Identity document number"),
        help_text=_("Exact, or the first characters followed by * (at least 3), e.g. 1987*."),
    )
    sex = ChoicesFilter(choices=Sex.choices)
    status = ChoicesFilter(choices=IndividualStatus.choices)
    age = AgeRangeFilter(label="Age (years)")
    birth_date = RangeFilter(kind="date", label="Birth date")
    location = LocationFilter(label="Location (and below)", widget=location_widget(Individual))
    household_size = HouseholdSizeFilter(label="Household size")
    household_role = HouseholdRoleFilter(label="Role in household")
    registration_source = ChoicesFilter(choices=RegistrationSource.choices, label="Registered through")
    registration_date = RangeFilter(kind="date", label="Registration date")

    class Meta:
        model = Individual
        fields: list[str] = []


class HouseholdFilter(AdvancedFilterSet):
    schema_kind = "household"

    code = CodePrefixFilter(label="Code starts with")
    location = LocationFilter(label="Location (and below)", widget=location_widget(Household))
    size = RangeFilter(kind="integer", label="Household size")
    registration_date = RangeFilter(kind="date", label="Registration date")

    class Meta:
        model = Household
        fields: list[str] = []


def as_query(data: QueryDict | dict[str, Any] | None) -> QueryDict:
    """Filter values as a QueryDict: a plain dict may give one value or a list per filter."""
    if isinstance(data, QueryDict):
        return data
    query = QueryDict(mutable=True)
    for key, value in (data or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        query.setlist(key, [_query_value(v) for v in values])
    return query


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.pk if hasattr(value, "pk") else value)


def individual_filterset(
    data: QueryDict | dict[str, Any] | None,
    *,
    user: AbstractBaseUser | AnonymousUser,
    queryset: QuerySet[Individual] | None = None,
    schema: dict[str, Any] | None = None,
) -> IndividualFilter:
    """The advanced search over individuals, inside the user's scope (`queryset` narrows it further)."""
    # The scope is applied to a given queryset as a filter, so its own annotations and joins survive.
    scoped = individual_list(user=user) if queryset is None else records_in_scope(queryset, user=user)
    return IndividualFilter(as_query(data), scoped, user=user, schema=schema)


def household_filterset(
    data: QueryDict | dict[str, Any] | None,
    *,
    user: AbstractBaseUser | AnonymousUser,
    queryset: QuerySet[Household] | None = None,
    schema: dict[str, Any] | None = None,
) -> HouseholdFilter:
    """The advanced search over households, always inside the user's scope."""
    scoped = household_list(user=user) if queryset is None else records_in_scope(queryset, user=user)
    return HouseholdFilter(as_query(data), scoped, user=user, schema=schema)


FILTERSETS = {"individual": individual_filterset, "household": household_filterset}
