"""Individuals in the admin: list (ID and name search, filters, household link), page, maker-checker edits."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Upper
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from registry.admin.editing import RegistryRecordAdmin
from registry.approval_actions import registry_update_request
from registry.forms import IdentityDocumentForm, IndividualForm, custom_fields_form
from registry.hooks import individual_enrolments, individual_upload_record
from registry.models import (
    HouseholdMember,
    HouseholdRole,
    IdentityDocument,
    Individual,
    RegistrationSource,
    SchemaKind,
)
from registry.schemas import CustomField, schema_fields, schema_for
from registry.selectors import document_number_condition, individual_list, location_list, name_order_key
from registry.services import INDIVIDUAL_FIELDS, individual_create, individual_update, individuals_delete

AGE_BANDS: dict[str, tuple[str, int, int | None]] = {
    "0-4": ("0–4", 0, 4),
    "5-17": ("5–17", 5, 17),
    "18-59": ("18–59", 18, 59),
    "60+": ("60 and over", 60, None),
}


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def age_band_q(band: str, *, today: date | None = None) -> Q:
    """Birth dates of the people whose age today is in `band` (an index range on birth_date)."""
    _, low, high = AGE_BANDS[band]
    today = today or date.today()
    condition = Q(birth_date__lte=years_before(today, low))
    if high is not None:
        condition &= Q(birth_date__gt=years_before(today, high + 1))
    return condition


def looks_like_document_number(term: str) -> bool:
    return any(char.isdigit() for char in term)


def current_membership(field: str = "pk") -> QuerySet[HouseholdMember]:
    return HouseholdMember.objects.filter(individual=OuterRef(field), end_date__isnull=True)


class AgeBandFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _, _) in AGE_BANDS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Individual]) -> QuerySet[Individual]:
        if self.value() in AGE_BANDS:
            return queryset.filter(age_band_q(self.value()))
        return queryset


class LocationSubtreeFilter(admin.SimpleListFilter):
    """A location and everything under it; offers the top two levels, takes any visible location's id."""

    title = "location"
    parameter_name = "location"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        locations = location_list(user=request.user).filter(depth__lte=1).order_by("path")[:60]
        return [(str(location.pk), ("— " * location.depth) + location.name) for location in locations]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        path = location_list(user=request.user).filter(pk=self.value()).values_list("path", flat=True).first()
        if path is None:
            return queryset.none()
        return queryset.filter(location__path__startswith=path)


class HouseholdRoleFilter(admin.SimpleListFilter):
    title = "household role"
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*HouseholdRole.choices, ("none", "In no household")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Individual]) -> QuerySet[Individual]:
        value = self.value()
        if value == "none":
            return queryset.filter(~Exists(current_membership()))
        if value in HouseholdRole.values:
            return queryset.filter(Exists(current_membership().filter(role=value)))
        return queryset


def custom_field_filter(field: CustomField) -> type[admin.SimpleListFilter]:
    """A list filter on a yes/no or choice custom field: `data @> {...}` on PostgreSQL (GIN index)."""

    class CustomFieldFilter(admin.SimpleListFilter):
        title = field.label.lower()
        parameter_name = f"cf_{field.name}"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            if field.type == "boolean":
                return [("true", "Yes"), ("false", "No")]
            return [(choice, choice.replace("_", " ").capitalize()) for choice in field.choices]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            valid = dict(self.lookup_choices)
            if self.value() not in valid:
                return queryset
            value: Any = self.value() == "true" if field.type == "boolean" else self.value()
            if connections[queryset.db].vendor == "postgresql":
                return queryset.filter(data__contains={field.name: value})
            return queryset.filter(**{f"data__{field.name}": value})

    return CustomFieldFilter


def custom_field_filters(kind: str) -> list[type[admin.SimpleListFilter]]:
    return [
        custom_field_filter(field)
        for field in schema_fields(schema_for(kind))
        if field.type == "boolean" or (field.choices and field.type != "array")
    ]


class IdentityDocumentInline(admin.TabularInline):
    """The person's documents; removing one is an edit of the person (maker-checker), not a deletion right."""

    model = IdentityDocument
    form = IdentityDocumentForm
    fields = ["doc_type", "value"]
    extra = 0

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)


@admin.register(Individual)
class IndividualAdmin(RegistryRecordAdmin):
    export_dataset = "individual"
    form = IndividualForm
    list_display = ["name", "sex", "age", "location", "household", "status"]
    list_select_related = ["location"]
    list_filter = ["sex", AgeBandFilter, LocationSubtreeFilter, HouseholdRoleFilter, "status"]
    sortable_by = ["name", "age"]
    search_fields = ["family_name"]  # shows the search box; get_search_results does the work
    search_help_text = (
        "An identity document number (exact, or its beginning followed by *, e.g. 1987*), "
        "or the beginning of a family or given name."
    )
    autocomplete_fields = ["location"]
    inlines = [IdentityDocumentInline]
    readonly_fields = [
        "removed_fields",
        "household_summary",
        "enrolments",
        "registration_source",
        "registration_record",
        "created_at",
        "updated_at",
    ]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Individual]:
        membership = current_membership()
        return individual_list(user=request.user).annotate(
            household_pk=Subquery(membership.values("household_id")[:1]),
            household_code=Subquery(membership.values("household__code")[:1]),
            household_role=Subquery(membership.values("role")[:1]),
        )

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [*self.list_filter, *custom_field_filters(SchemaKind.INDIVIDUAL)]

    def delete_model(self, request: HttpRequest, obj: Individual) -> None:
        individuals_delete(individuals=Individual.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Individual]) -> None:
        individuals_delete(individuals=queryset)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Individual], search_term: str
    ) -> tuple[QuerySet[Individual], bool]:
        """An ID number matches exactly (Exists: no duplicate rows); words match name beginnings (indexed)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if looks_like_document_number(term):
            condition = document_number_condition(term)
            return (queryset.filter(condition) if condition is not None else queryset), False
        queryset = queryset.alias(family_upper=Upper("family_name"), given_upper=Upper("given_name"))
        for word in term.upper().split():
            queryset = queryset.filter(Q(family_upper__startswith=word) | Q(given_upper__startswith=word))
        return queryset, False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = custom_fields_form(self.form, kind=SchemaKind.INDIVIDUAL)
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[tuple[str | None, dict[str, Any]]]:
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (
                "Person",
                {
                    "fields": [
                        ("given_name", "family_name"),
                        "other_names",
                        "sex",
                        ("birth_date", "birth_date_estimated"),
                        "phone",
                    ]
                },
            ),
            ("Registration", {"fields": ["location", "registration_date", "registration_source", "status"]}),
        ]
        if obj is not None:
            fieldsets.append(("Household and programmes", {"fields": ["household_summary", "enrolments"]}))
        fieldsets.extend(self.custom_fieldsets(obj))
        if obj is not None:
            fieldsets.append(
                (
                    "Record",
                    {"fields": ["registration_record", "created_at", "updated_at"], "classes": ["collapse"]},
                )
            )
        return fieldsets

    @admin.display(description="name", ordering=name_order_key("family_name"))
    def name(self, obj: Individual) -> str:
        return f"{obj.family_name.upper()}, {obj.given_name}"

    @admin.display(description="age", ordering="-birth_date")
    def age(self, obj: Individual) -> str:
        age = obj.age()
        if age is None:
            return "—"
        return f"~{age}" if obj.birth_date_estimated else str(age)

    @admin.display(description="household")
    def household(self, obj: Individual) -> str:
        if not getattr(obj, "household_pk", None):
            return "—"
        url = reverse("admin:registry_household_change", args=[obj.household_pk])
        role = dict(HouseholdRole.choices).get(obj.household_role, "")
        return format_html('<a href="{}">{}</a> <span class="quiet">{}</span>', url, obj.household_code, role)

    @admin.display(description="household")
    def household_summary(self, obj: Individual) -> str:
        memberships = list(
            HouseholdMember.objects.filter(individual=obj)
            .select_related("household")
            .order_by("-start_date", "-pk")[:10]
        )
        if not memberships:
            return "In no household."
        lines = []
        for membership in memberships:
            url = reverse("admin:registry_household_change", args=[membership.household_id])
            detail = membership.get_role_display()
            if membership.is_primary_recipient:
                detail += ", primary recipient"
            if membership.end_date:
                period = f"from {membership.start_date:%Y-%m-%d} to {membership.end_date:%Y-%m-%d}"
            else:
                period = f"since {membership.start_date:%Y-%m-%d}, {membership.household.size} member(s)"
            lines.append((url, membership.household.code, detail, period))
        return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a>: {} ({})', lines)

    @admin.display(description="registered by")
    def registration_record(self, obj: Individual) -> str:
        # People written in bulk have no history row of their creation: the upload batch is their record.
        if obj.registration_source == RegistrationSource.UPLOAD:
            record = individual_upload_record(individual_id=obj.pk)
            if record:
                return record
        return "See the History page for changes made in the portal."

    @admin.display(description="programme enrolments")
    def enrolments(self, obj: Individual) -> str:
        # The programmes app (above the registry) answers which enrolments this viewer may see, through
        # `registry.hooks`. Without it there is nothing to show.
        viewer = getattr(obj, "_viewer", None)
        enrolments = None if viewer is None else individual_enrolments(user=viewer, individual=obj)
        if enrolments is None:
            return "—"
        beneficiaries = list(enrolments[:20])
        if not beneficiaries:
            return "Not enrolled in any programme you can see."
        return format_html_join(
            mark_safe("<br>"),
            "{} — {} (since {})",
            ((b.benefit_plan, b.get_status_display(), f"{b.enrolled_at:%Y-%m-%d}") for b in beneficiaries),
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        obj._viewer = request.user  # read-only fields see only the object; enrolments depend on the viewer
        return obj

    # Writes: creation directly, edits as change requests (see RegistryRecordAdmin).

    def _core_fields(self, form: Any) -> dict[str, Any]:
        return {name: form.cleaned_data[name] for name in INDIVIDUAL_FIELDS if name in form.cleaned_data}

    def create_record(self, request: HttpRequest, obj: Individual, form: Any) -> Individual:
        return individual_create(
            user=request.user, data=form.cleaned_data.get("data", {}), **self._core_fields(form)
        )

    def _documents(self, formsets: list[Any]) -> list[tuple[str, str]] | None:
        for formset in formsets:
            if formset.model is IdentityDocument:
                return [
                    (f.cleaned_data["doc_type"], f.cleaned_data["value"])
                    for f in formset.forms
                    if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("value")
                ]
        return None

    def create_related(self, request: HttpRequest, obj: Individual, formsets: list[Any]) -> None:
        documents = self._documents(formsets)
        if documents:
            individual_update(individual=obj, user=request.user, documents=documents)

    def request_change(self, request: HttpRequest, obj: Individual, form: Any, formsets: list[Any]) -> Any:
        return registry_update_request(
            target=obj,
            maker=request.user,
            fields=self._core_fields(form),
            data=form.cleaned_data.get("data"),
            documents=self._documents(formsets),
        )
