"""Registry forms: custom fields from the JSON Schemas as real form fields, and the admin inlines' checks."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.utils import formats

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
    schema_check,
    schema_fields,
    schema_for,
    schema_property_names,
)
from registry.services import identity_documents_conflicts

FIELD_PREFIX = "data__"
ISO_DATE = "%Y-%m-%d"


def date_display(value: date | None) -> str:
    """A date as the user types it (the active language's first DATE_INPUT_FORMATS): forms, filters, lists."""
    return "" if value is None else str(formats.localize_input(value))


class LocaleDateInput(forms.DateInput):
    """A date typed and shown in the active language's format (DATE_INPUT_FORMATS), with an example."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("placeholder", date_display(date.today()))
        return context


class LocaleDateField(forms.DateField):
    """The one date field of the registry's forms and filters: the user's locale format in and out, and the
    ISO form (YYYY-MM-DD) too, so saved searches, links and files keep working whatever the language."""

    widget = LocaleDateInput

    def to_python(self, value: Any) -> date | None:
        try:
            return super().to_python(value)
        except ValidationError:
            try:
                return date.fromisoformat(str(value).strip())
            except ValueError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None


def custom_field_name(name: str) -> str:
    return f"{FIELD_PREFIX}{name}"


def custom_form_field(field: CustomField, *, stored: Any = None) -> forms.Field:
    """The Django form field for one schema property."""
    common: dict[str, Any] = {"label": field.label, "help_text": field.help_text, "required": field.required}
    if field.type == "boolean":
        return forms.NullBooleanField(widget=forms.NullBooleanSelect, **common)
    if field.type == "integer":
        return forms.IntegerField(min_value=field.minimum, max_value=field.maximum, **common)
    if field.type == "number":
        return forms.FloatField(min_value=field.minimum, max_value=field.maximum, **common)
    if field.choices:
        choices = [("", "---------")] + [
            (choice, choice.replace("_", " ").capitalize()) for choice in field.choices
        ]
        if stored not in (None, "") and stored not in field.choices:
            # A value from before the choices changed: shown, so it is neither hidden nor silently dropped.
            choices.append((stored, f"{stored} (no longer a choice)"))
        return forms.ChoiceField(choices=choices, **common)
    if field.format == "date":
        return LocaleDateField(widget=AdminDateWidget, **common)
    return forms.CharField(max_length=field.max_length, min_length=field.min_length, **common)


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
            if value is None or value == "":
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
    """The schema as JSON text, checked (valid JSON Schema, supported subset) before it is stored."""

    schema = IndentedJSONField(
        widget=forms.Textarea(
            attrs={"rows": 24, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"}
        ),
        help_text=(
            'A JSON Schema object: {"type": "object", "properties": {"name": {"type": "string", '
            '"title": "Label"}}, '
            '"required": []}. Types: string (with "enum" for a choice list, "format": "date", "maxLength"), '
            'number and integer ("minimum", "maximum"), boolean. "title" is the label, "description" '
            "the help."
        ),
    )

    class Meta:
        model = RegistrySchema
        fields = ["kind", "schema"]

    def clean_schema(self) -> dict[str, Any]:
        try:
            return schema_check(self.cleaned_data["schema"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["schema"]) from None
