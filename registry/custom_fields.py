"""Custom fields without JSON: a field's definition as the admin form edits it, the JSON Schema it writes,
the Django form field each schema property becomes, and the set-based count of stored values a change
would break.

The schema stays the JSON Schema the rest of the system validates with (`registry.schemas`); what the
validator does not need (labels per language, choice labels, sections) lives in `x-` keywords it ignores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from registry.dates import LocaleDateField
from registry.schemas import (
    CHOICE_LABELS_KEY,
    ENUM_LABELS_KEY,
    LABELS_KEY,
    ORDER_KEY,
    SECTION_KEY,
    CustomField,
    schema_fields,
)

FIELD_TYPES: list[tuple[str, Any]] = [
    ("text", _("Text")),
    ("number", _("Number")),
    ("integer", _("Whole number")),
    ("date", _("Date")),
    ("boolean", _("Yes / no")),
    ("choice", _("One choice")),
    ("choices", _("Several choices")),
]
BOUNDED_TYPES = ("text", "number", "integer")
# Keywords that constrain stored values: a change of any of them is checked against the data.
VALUE_KEYWORDS = (
    "type",
    "format",
    "enum",
    "items",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "uniqueItems",
)


def languages() -> list[str]:
    """The language codes labels are kept in (settings.LANGUAGES), the default language first."""
    codes = [code for code, _name in settings.LANGUAGES]
    default = settings.LANGUAGE_CODE.split("-")[0]
    return [default, *[code for code in codes if code != default]]


@dataclass
class FieldDefinition:
    """One custom field as an administrator sees it."""

    key: str
    type: str
    labels: dict[str, str]
    help_text: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (value, label per language)
    section: str = ""


def _number(value: float | None, whole: bool) -> int | float | None:
    if value is None:
        return None
    return int(value) if whole or float(value).is_integer() else float(value)


def _default_text(texts: dict[str, str], fallback: str) -> str:
    for code in languages():
        if texts.get(code):
            return texts[code]
    return fallback


def definition_property(definition: FieldDefinition) -> dict[str, Any]:
    """The JSON Schema property of one definition."""
    kind = definition.type
    spec: dict[str, Any] = {}
    if kind == "text":
        spec["type"] = "string"
        if definition.minimum is not None:
            spec["minLength"] = int(definition.minimum)
        if definition.maximum is not None:
            spec["maxLength"] = int(definition.maximum)
    elif kind in ("number", "integer"):
        spec["type"] = kind
        if definition.minimum is not None:
            spec["minimum"] = _number(definition.minimum, kind == "integer")
        if definition.maximum is not None:
            spec["maximum"] = _number(definition.maximum, kind == "integer")
    elif kind == "date":
        spec.update(type="string", format="date")
    elif kind == "boolean":
        spec["type"] = "boolean"
    elif kind in ("choice", "choices"):
        values = [value for value, _labels in definition.choices]
        default_labels = [_default_text(labels, value) for value, labels in definition.choices]
        if kind == "choice":
            spec.update(type="string", enum=values)
        else:
            spec.update(type="array", items={"type": "string", "enum": values}, uniqueItems=True)
        spec[ENUM_LABELS_KEY] = default_labels
        spec[CHOICE_LABELS_KEY] = {
            value: {code: text for code, text in labels.items() if text}
            for value, labels in definition.choices
        }
    else:
        raise ValueError(f"unknown field type {kind!r}")
    labels = {code: text for code, text in definition.labels.items() if text}
    spec["title"] = _default_text(labels, definition.key.replace("_", " ").capitalize())
    spec[LABELS_KEY] = labels
    if definition.help_text:
        spec["description"] = definition.help_text
    if definition.section:
        spec[SECTION_KEY] = definition.section
    return spec


def definitions_schema(
    definitions: list[FieldDefinition], *, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON Schema of `definitions`, in their order; top-level keywords of `base` are kept."""
    schema = {
        key: value for key, value in (base or {}).items() if key not in ("properties", "required", ORDER_KEY)
    }
    schema.setdefault("type", "object")
    schema["properties"] = {definition.key: definition_property(definition) for definition in definitions}
    schema["required"] = [definition.key for definition in definitions if definition.required]
    schema[ORDER_KEY] = [definition.key for definition in definitions]
    return schema


def field_type(custom: CustomField) -> str:
    """The form's type of a schema property: text, number, integer, date, boolean, choice, choices."""
    if custom.type == "array":
        return "choices"
    if custom.type in ("number", "integer", "boolean"):
        return custom.type
    if custom.choices:
        return "choice"
    if custom.format == "date":
        return "date"
    return "text"


def schema_definitions(schema: dict[str, Any]) -> list[FieldDefinition]:
    """The definitions a schema holds, in its order (the inverse of `definitions_schema`)."""
    definitions = []
    for custom in schema_fields(schema or {}):
        kind = field_type(custom)
        minimum, maximum = custom.minimum, custom.maximum
        if kind == "text":
            minimum, maximum = custom.min_length, custom.max_length
        labels = dict(custom.labels) or {languages()[0]: custom.label}
        choices = [
            (
                value,
                dict(custom.choice_labels.get(value) or {languages()[0]: custom.choice_label(value, None)}),
            )
            for value in custom.choices
        ]
        definitions.append(
            FieldDefinition(
                key=custom.name,
                type=kind,
                labels=labels,
                help_text=custom.help_text,
                required=custom.required,
                minimum=minimum,
                maximum=maximum,
                choices=choices,
                section=custom.section,
            )
        )
    return definitions


# --- schema property -> Django form field -------------------------------------------------------------


def schema_form_field(custom: CustomField, *, language: str | None = None, stored: Any = None) -> forms.Field:
    """The Django form field of one schema property, labelled in `language` (the active one by default).

    A stored value that is no longer a choice is offered too (marked), so editing neither hides nor
    silently drops it.
    """
    language = language or get_language() or settings.LANGUAGE_CODE
    common: dict[str, Any] = {
        "label": custom.label_in(language),
        "help_text": custom.help_text,
        "required": custom.required,
    }
    kind = field_type(custom)
    if kind == "boolean":
        return forms.NullBooleanField(widget=forms.NullBooleanSelect, **common)
    if kind == "integer":
        return forms.IntegerField(min_value=custom.minimum, max_value=custom.maximum, **common)
    if kind == "number":
        return forms.FloatField(min_value=custom.minimum, max_value=custom.maximum, **common)
    if kind in ("choice", "choices"):
        choices = [(value, custom.choice_label(value, language)) for value in custom.choices]
        old = stored if isinstance(stored, list) else [stored]
        for value in old:
            if isinstance(value, str) and value and value not in custom.choices:
                choices.append((value, _("%(value)s (no longer a choice)") % {"value": value}))
        if kind == "choices":
            return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
        return forms.ChoiceField(choices=[("", "---------"), *choices], **common)
    if kind == "date":
        return LocaleDateField(widget=AdminDateWidget, **common)
    return forms.CharField(max_length=custom.max_length, min_length=custom.min_length, **common)


def schema_form_fields(
    schema: dict[str, Any], *, language: str | None = None, stored: dict[str, Any] | None = None
) -> dict[str, forms.Field]:
    """Each property of `schema` as a Django form field, keyed by the field's key, in the schema's order."""
    stored = stored or {}
    return {
        custom.name: schema_form_field(custom, language=language, stored=stored.get(custom.name))
        for custom in schema_fields(schema or {})
    }


def schema_sections(schema: dict[str, Any], *, language: str | None = None) -> list[tuple[str, list[str]]]:
    """(section, keys) in the order the fields come; fields without a section go under ""."""
    sections: dict[str, list[str]] = {}
    for custom in schema_fields(schema or {}):
        sections.setdefault(custom.section, []).append(custom.name)
    return list(sections.items())


# --- what a change would break, counted in the database --------------------------------------------


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before = (old or {}).get("properties", {})
    after = (new or {}).get("properties", {})
    changed = []
    for key, spec in after.items():
        if key not in before:
            # A new field over the old values of a removed one: those values must fit too.
            changed.append(key)
            continue
        if any(before[key].get(word) != spec.get(word) for word in VALUE_KEYWORDS):
            changed.append(key)
    return changed


class _Sql:
    """The SQL pieces of one vendor: a value's JSON type, its text, and its elements."""

    def __init__(self, vendor: str, column: str) -> None:
        self.vendor = vendor
        self.column = column

    def typeof(self, key: str) -> tuple[str, list[Any]]:
        if self.vendor == "postgresql":
            return f"jsonb_typeof({self.column} -> %s)", [key]
        return f"json_type({self.column}, %s)", [f'$."{key}"']

    def text(self, key: str) -> tuple[str, list[Any]]:
        if self.vendor == "postgresql":
            return f"({self.column} ->> %s)", [key]
        return f"json_extract({self.column}, %s)", [f'$."{key}"']

    def is_type(self, key: str, kind: str) -> tuple[str, list[Any]]:
        typeof, params = self.typeof(key)
        names = {
            "postgresql": {
                "string": ["string"],
                "number": ["number"],
                "integer": ["number"],
                "boolean": ["boolean"],
                "array": ["array"],
            },
            "sqlite": {
                "string": ["text"],
                "number": ["integer", "real"],
                "integer": ["integer", "real"],
                "boolean": ["true", "false"],
                "array": ["array"],
            },
        }[self.vendor if self.vendor == "postgresql" else "sqlite"][kind]
        return f"{typeof} IN ({', '.join(['%s'] * len(names))})", [*params, *names]

    def number(self, key: str) -> tuple[str, list[Any]]:
        text, params = self.text(key)
        if self.vendor == "postgresql":
            return f"({text})::numeric", params
        return text, params

    def length(self, key: str) -> tuple[str, list[Any]]:
        text, params = self.text(key)
        return ("char_length" if self.vendor == "postgresql" else "length") + f"({text})", params

    def elements_outside(self, key: str, values: list[str]) -> tuple[str, list[Any]]:
        marks = ", ".join(["%s"] * len(values)) or "NULL"
        if self.vendor == "postgresql":
            return (
                f"EXISTS (SELECT 1 FROM jsonb_array_elements({self.column} -> %s) AS e(v) "
                f"WHERE jsonb_typeof(e.v) <> 'string' OR (e.v #>> '{{}}') NOT IN ({marks}))",
                [key, *values],
            )
        return (
            f"EXISTS (SELECT 1 FROM json_each({self.column}, %s) AS e "
            f"WHERE e.type <> 'text' OR e.value NOT IN ({marks}))",
            [f'$."{key}"', *values],
        )

    def duplicate_elements(self, key: str) -> tuple[str, list[Any]]:
        if self.vendor == "postgresql":
            return (
                "(SELECT count(*) <> count(DISTINCT e.v) "
                f"FROM jsonb_array_elements({self.column} -> %s) AS e(v))",
                [key],
            )
        return (
            f"(SELECT count(*) <> count(DISTINCT e.value) FROM json_each({self.column}, %s) AS e)",
            [f'$."{key}"'],
        )


def _violation_sql(sql: _Sql, key: str, spec: dict[str, Any]) -> tuple[str, list[Any]]:
    """A condition true for a row whose stored value under `key` breaks `spec` (no value breaks nothing)."""
    kind = spec.get("type", "string")
    typeof, typeof_params = sql.typeof(key)
    present = f"{typeof} IS NOT NULL AND {typeof} <> %s"
    params: list[Any] = [*typeof_params, *typeof_params, "null"]
    right_type, right_params = sql.is_type(key, kind)
    problems = [f"NOT ({right_type})"]
    problem_params: list[Any] = list(right_params)
    guarded: list[tuple[str, list[Any]]] = []  # checked only when the type is right (casts are safe then)
    if kind == "integer":
        number, number_params = sql.number(key)
        guarded.append((f"{number} <> ROUND({number})", [*number_params, *number_params]))
    if kind in ("number", "integer"):
        number, number_params = sql.number(key)
        if spec.get("minimum") is not None:
            guarded.append((f"{number} < %s", [*number_params, spec["minimum"]]))
        if spec.get("maximum") is not None:
            guarded.append((f"{number} > %s", [*number_params, spec["maximum"]]))
    if kind == "string":
        text, text_params = sql.text(key)
        if spec.get("enum") is not None:
            marks = ", ".join(["%s"] * len(spec["enum"])) or "NULL"
            guarded.append((f"{text} NOT IN ({marks})", [*text_params, *spec["enum"]]))
        if spec.get("format") == "date":
            if sql.vendor == "postgresql":
                guarded.append((f"{text} !~ %s", [*text_params, r"^\d{4}-\d{2}-\d{2}$"]))
            else:
                guarded.append(
                    (f"{text} NOT GLOB %s", [*text_params, "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"])
                )
        length, length_params = sql.length(key)
        if spec.get("minLength") is not None:
            guarded.append((f"{length} < %s", [*length_params, spec["minLength"]]))
        if spec.get("maxLength") is not None:
            guarded.append((f"{length} > %s", [*length_params, spec["maxLength"]]))
    if kind == "array":
        values = (spec.get("items") or {}).get("enum")
        if values is not None:
            guarded.append(sql.elements_outside(key, list(values)))
        if spec.get("uniqueItems"):
            guarded.append(sql.duplicate_elements(key))
    if guarded:
        # CASE keeps the casts of the guarded tests away from values of another type.
        tests = " OR ".join(f"({condition})" for condition, _params in guarded)
        problems.append(f"(CASE WHEN {right_type} THEN ({tests}) ELSE FALSE END)")
        problem_params += right_params
        for _condition, guarded_params in guarded:
            problem_params += guarded_params
    return f"({present}) AND ({' OR '.join(problems)})", params + problem_params


def schema_change_violations(
    queryset: QuerySet[Any], *, old: dict[str, Any], new: dict[str, Any]
) -> dict[str, int]:
    """For each field whose type or constraints `new` changes, how many records of `queryset` hold a value
    that `new` refuses: one aggregate query over the table, in the database (JSON operators on
    PostgreSQL, JSON1 functions on SQLite). Fields with no such record are left out."""
    keys = _changed_keys(old, new)
    if not keys:
        return {}
    model = queryset.model
    connection = connections[queryset.db]
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{connection.ops.quote_name('data')}"
    sql = _Sql(connection.vendor, column)
    properties = new["properties"]
    counts = {}
    for position, key in enumerate(keys):
        condition, params = _violation_sql(sql, key, properties[key])
        counts[f"k{position}"] = Count("pk", filter=Q(RawSQL(condition, params, output_field=BooleanField())))
    found = queryset.order_by().aggregate(**counts)
    return {key: found[f"k{position}"] for position, key in enumerate(keys) if found[f"k{position}"]}


def schema_change_refusals(
    queryset: QuerySet[Any], *, old: dict[str, Any], new: dict[str, Any]
) -> dict[str, str]:
    """The message per field key that a change of `old` into `new` must be refused with (none: allowed)."""
    return {
        key: str(
            _(
                "%(count)s stored record(s) hold a value of %(key)s that this change would refuse: "
                "correct them first, or keep the field as it was (a new key makes a new field)."
            )
            % {"count": f"{count:,}", "key": key}
        )
        for key, count in schema_change_violations(queryset, old=old, new=new).items()
    }


def schema_change_check(
    queryset: QuerySet[Any], *, old: dict[str, Any], new: dict[str, Any], field: str
) -> None:
    """Refuse (ValidationError on `field`) a schema change that stored values of `queryset` would violate."""
    refusals = schema_change_refusals(queryset, old=old, new=new)
    if refusals:
        raise ValidationError({field: [f"{key}: {message}" for key, message in refusals.items()]})
