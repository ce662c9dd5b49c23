"""Registry forms: custom fields from the JSON Schemas as real form fields, and the admin inlines' checks."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registry.custom_fields import schema_form_field, schema_sections
from registry.dates import LocaleDateField
from registry.models import (
    Household,
    HouseholdMember,
    HouseholdRole,
    IdentityDocument,
    Individual,
    RegistrySchema,
)
from registry.schemas import (
    ORDER_KEY,
    CustomField,
    custom_data_validate,
    schema_fields,
    schema_for,
    schema_property_names,
)
from registry.services import identity_documents_conflicts

FIELD_PREFIX = "data__"
ISO_DATE = "%Y-%m-%d"


def custom_field_name(name: str) -> str:
    return f"{FIELD_PREFIX}{name}"


def custom_form_field(field: CustomField, *, stored: Any = None) -> forms.Field:
    """The Django form field for one schema property, labelled in the active language."""
    return schema_form_field(field, stored=stored)


def _initial(field: CustomField, value: Any) -> Any:
    if field.format == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


class CustomFieldsFormMixin:
    """Adds the schema's custom fields to a ModelForm and reads them back into `cleaned_data["data"]`.

    Stored keys the schema no longer has are carried over untouched; schema
    errors are shown on the field they concern.
    """

    schema_kind: str = ""
    custom_schema: dict[str, Any]
    custom_fields: list[CustomField]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        stored = dict(self.instance.data or {}) if self.instance.pk else {}  # type: ignore[attr-defined]
        self.custom_schema = schema_for(self.schema_kind)
        self.custom_fields = schema_fields(self.custom_schema)
        for field in self.custom_fields:
            name = custom_field_name(field.name)
            self.fields[name] = custom_form_field(field, stored=stored.get(field.name))  # type: ignore[attr-defined]
            if field.name in stored:
                self.initial[name] = _initial(field, stored[field.name])  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        previous = dict(self.instance.data or {}) if self.instance.pk else {}  # type: ignore[attr-defined]
        data = dict(previous)
        for field in self.custom_fields:
            name = custom_field_name(field.name)
            if name in self.errors:  # type: ignore[attr-defined]
                continue
            value = cleaned.get(name)
            if value is None or value == "" or value == []:
                data.pop(field.name, None)
            else:
                data[field.name] = value.isoformat() if isinstance(value, date) else value
        try:
            cleaned["data"] = custom_data_validate(
                kind=self.schema_kind, data=data, previous=previous, schema=self.custom_schema
            )
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                name = custom_field_name(key.removeprefix("data."))
                target = name if name in self.fields else None  # type: ignore[attr-defined]
                for message in messages:
                    self.add_error(target, message)  # type: ignore[attr-defined]
        return cleaned


def custom_fields_form(base: type[forms.ModelForm], *, kind: str) -> type[forms.ModelForm]:
    """A subclass of `base` declaring the current schema's fields (so the admin lays them out)."""
    attrs: dict[str, Any] = {"schema_kind": kind, "__module__": __name__}
    for field in schema_fields(schema_for(kind)):
        attrs[custom_field_name(field.name)] = custom_form_field(field)
    return type(f"{base.__name__}WithCustomFields", (CustomFieldsFormMixin, base), attrs)


def custom_field_names(kind: str) -> list[str]:
    return [custom_field_name(field.name) for field in schema_fields(schema_for(kind))]


def custom_fieldsets(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The admin fieldsets of the custom fields: one per section, in the order the fields come."""
    fieldsets: list[tuple[str, dict[str, Any]]] = []
    for section, keys in schema_sections(schema_for(kind)):
        title = section or _("Custom fields")
        fieldsets.append((title, {"fields": [custom_field_name(key) for key in keys]}))
    return fieldsets


def removed_custom_values(kind: str, data: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """Stored values whose key the schema no longer has (a removed field keeps its old values)."""
    properties = schema_for(kind).get("properties", {})
    return [(key, value) for key, value in (data or {}).items() if key not in properties]


class IndividualForm(forms.ModelForm):
    class Meta:
        model = Individual
        fields = [
            "given_name",
            "family_name",
            "other_names",
            "sex",
            "birth_date",
            "birth_date_estimated",
            "phone",
            "location",
            "registration_date",
            "status",
        ]
        field_classes = {"birth_date": LocaleDateField, "registration_date": LocaleDateField}

    def clean_birth_date(self) -> date | None:
        value = self.cleaned_data.get("birth_date")
        if value and value > date.today():
            raise ValidationError("The birth date is in the future.")
        return value


class HouseholdForm(forms.ModelForm):
    class Meta:
        model = Household
        fields = ["code", "location", "address", "latitude", "longitude", "registration_date"]
        field_classes = {"registration_date": LocaleDateField}


class IdentityDocumentForm(forms.ModelForm):
    """One identity document; a number held by someone else is named at the field."""

    class Meta:
        model = IdentityDocument
        fields = ["doc_type", "value"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        doc_type, value = cleaned.get("doc_type"), (cleaned.get("value") or "").strip()
        if doc_type and value and not cleaned.get("DELETE"):
            cleaned["value"] = value
            owner = self.instance.individual if self.instance.individual_id else None
            problems = identity_documents_conflicts(documents=[(doc_type, value)], individual=owner)
            if problems:
                self.add_error("value", problems[0])
        return cleaned


class MembershipForm(forms.ModelForm):
    """A current member of a household; the one-head/one-recipient rules are checked by the formset."""

    class Meta:
        model = HouseholdMember
        fields = ["individual", "role", "is_primary_recipient"]

    def _get_validation_exclusions(self) -> set[str]:
        # The partial unique constraints are checked across the whole formset (a head may be swapped
        # in one save), and by the services; row-by-row checks against the database would refuse that.
        return super()._get_validation_exclusions() | {
            "household",
            "individual",
            "role",
            "is_primary_recipient",
        }

    def clean_individual(self) -> Individual:
        individual = self.cleaned_data["individual"]
        if self.instance.pk and individual.pk != self.instance.individual_id:
            raise ValidationError(
                "To put someone else in this row, remove it and add the person as a new member."
            )
        if not self.instance.pk:
            current = (
                HouseholdMember.objects.filter(individual=individual, end_date__isnull=True)
                .select_related("household")
                .first()
            )
            if current:
                raise ValidationError(
                    f"{individual} is already a member of household {current.household} "
                    f"(since {current.start_date:%Y-%m-%d}): remove them there first."
                )
        return individual


class MembershipFormSet(forms.BaseInlineFormSet):
    """At most one head and one primary recipient among the members kept."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("individual")
        ]
        for flag, test, what in (
            ("role", lambda data: data.get("role") == HouseholdRole.HEAD, "head"),
            ("is_primary_recipient", lambda data: data.get("is_primary_recipient"), "primary recipient"),
        ):
            chosen = [form for form in kept if test(form.cleaned_data)]
            if len(chosen) > 1:
                names = " and ".join(str(form.cleaned_data["individual"]) for form in chosen)
                for form in chosen[1:]:
                    form.add_error(flag, f"A household has one {what} at most: {names} are both marked.")
        people = [form.cleaned_data["individual"].pk for form in kept]
        if len(people) != len(set(people)):
            raise ValidationError("The same person is listed twice.")


class IndentedJSONField(forms.JSONField):
    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            # Shown in display order without the order key: the order of the text is the order saved.
            properties = {name: value["properties"][name] for name in schema_property_names(value)}
            value = {
                key: (properties if key == "properties" else item)
                for key, item in value.items()
                if key != ORDER_KEY
            }
        return json.dumps(value, indent=2, ensure_ascii=False)


class RegistrySchemaForm(forms.ModelForm):
    """A new schema names its kind only; its fields are then edited in the custom-fields form."""

    class Meta:
        model = RegistrySchema
        fields = ["kind"]
