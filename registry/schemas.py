"""Custom fields of the registry: the JSON Schemas of individuals and households, checked and applied."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from registry.models import Household, Individual, RegistrySchema, SchemaKind

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# PostgreSQL's jsonb does not keep key order, so the order of the fields is kept beside them.
ORDER_KEY = "x-order"
# Annotations the validator ignores: the label per language, the section a form groups the field in,
# and the choices' labels (a list in the default language, read by the expressions, and per language).
LABELS_KEY = "x-labels"
SECTION_KEY = "x-section"
ENUM_LABELS_KEY = "x-enum-labels"
CHOICE_LABELS_KEY = "x-choice-labels"
ANNOTATIONS = {LABELS_KEY, SECTION_KEY}
CHOICE_ANNOTATIONS = {ENUM_LABELS_KEY, CHOICE_LABELS_KEY}
SUPPORTED_TYPES = ("string", "number", "integer", "boolean", "array")
SUPPORTED_KEYWORDS = {
    "string": {"type", "title", "description", "enum", "format", "maxLength", "minLength", "default"}
    | ANNOTATIONS
    | CHOICE_ANNOTATIONS,
    "number": {"type", "title", "description", "minimum", "maximum", "default"} | ANNOTATIONS,
    "integer": {"type", "title", "description", "minimum", "maximum", "default"} | ANNOTATIONS,
    "boolean": {"type", "title", "description", "default"} | ANNOTATIONS,
    # Several choices: a list of distinct texts, each one of `items.enum`.
    "array": {"type", "title", "description", "items", "uniqueItems", "minItems", "maxItems", "default"}
    | ANNOTATIONS
    | CHOICE_ANNOTATIONS,
}
TOP_LEVEL_KEYWORDS = {
    "$schema",
    "$id",
    "type",
    "title",
    "description",
    "properties",
    "required",
    "additionalProperties",
    ORDER_KEY,
}
MODEL_BY_KIND = {SchemaKind.INDIVIDUAL: Individual, SchemaKind.HOUSEHOLD: Household}
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "required": []}


@dataclass(frozen=True)
class CustomField:
    """One property of a schema, as the forms and messages see it."""

    name: str
    type: str
    label: str
    help_text: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    min_length: int | None = None
    format: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    section: str = ""
    enum_labels: tuple[str, ...] = ()

    def label_in(self, language: str | None) -> str:
        """The label in `language` ("pt-br" falls back to "pt"), else the default label."""
        if language:
            for code in (language, language.split("-")[0]):
                if self.labels.get(code):
                    return self.labels[code]
        return self.label

    def choice_label(self, value: str, language: str | None) -> str:
        labels = self.choice_labels.get(value) or {}
        if language:
            for code in (language, language.split("-")[0]):
                if labels.get(code):
                    return labels[code]
        default = dict(zip(self.choices, self.enum_labels, strict=False)).get(value)
        return default or value.replace("_", " ").capitalize()


def schema_check(schema: Any) -> dict[str, Any]:
    """Check that `schema` is valid JSON Schema and within the supported subset; errors go to `schema`."""
    if not isinstance(schema, dict):
        raise ValidationError(
            {"schema": 'The schema must be a JSON object, e.g. {"type": "object", "properties": {}}.'}
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the top level"
        raise ValidationError({"schema": f"Not a valid JSON Schema at {where}: {exc.message}"}) from None
    problems: list[str] = []
    if schema.get("type", "object") != "object":
        problems.append('The top level must have "type": "object".')
    unknown = set(schema) - TOP_LEVEL_KEYWORDS
    if unknown:
        problems.append(f"Unsupported keyword(s) at the top level: {', '.join(sorted(unknown))}.")
    properties = schema.get("properties", {})
    for name, spec in properties.items():
        if not FIELD_NAME.match(name):
            problems.append(
                f"Field name {name!r} must start with a lower-case letter and use only a-z, 0-9 and _ "
                "(at most 63)."
            )
            continue
        if not isinstance(spec, dict):
            problems.append(f"Field {name!r} must be an object.")
            continue
        kind = spec.get("type")
        if kind not in SUPPORTED_TYPES:
            problems.append(
                f"Field {name!r}: type {kind!r} is not supported "
                "(use string, number, integer, boolean or array)."
            )
            continue
        extra = set(spec) - SUPPORTED_KEYWORDS[kind]
        if extra:
            problems.append(
                f"Field {name!r}: unsupported keyword(s) for a {kind}: {', '.join(sorted(extra))}."
            )
        if kind == "string" and spec.get("format") not in (None, "date"):
            problems.append(f'Field {name!r}: format {spec["format"]!r} is not supported (only "date").')
        if "enum" in spec and not all(isinstance(choice, str) for choice in spec["enum"]):
            problems.append(f"Field {name!r}: the choices (enum) must all be text.")
        if kind == "array":
            items = spec.get("items")
            if (
                not isinstance(items, dict)
                or items.get("type") != "string"
                or not isinstance(items.get("enum"), list)
                or set(items) - {"type", "enum"}
                or not all(isinstance(choice, str) for choice in items["enum"])
            ):
                problems.append(
                    f'Field {name!r}: an array is several choices: "items" must be '
                    '{"type": "string", "enum": [the choices]}.'
                )
        if ENUM_LABELS_KEY in spec:
            values = spec.get("enum", (spec.get("items") or {}).get("enum"))
            labels = spec[ENUM_LABELS_KEY]
            if not isinstance(labels, list) or not isinstance(values, list) or len(labels) != len(values):
                problems.append(f'Field {name!r}: "{ENUM_LABELS_KEY}" must give one label per choice.')
        for key in (LABELS_KEY, CHOICE_LABELS_KEY):
            if key in spec and not isinstance(spec[key], dict):
                problems.append(f'Field {name!r}: "{key}" must be an object.')
        if kind in ("number", "integer"):
            low, high = spec.get("minimum"), spec.get("maximum")
            if low is not None and high is not None and low > high:
                problems.append(f"Field {name!r}: minimum {low} is above maximum {high}.")
    for name in schema.get("required", []):
        if name not in properties:
            problems.append(f"Required field {name!r} is not among the properties.")
    if not isinstance(schema.get(ORDER_KEY, []), list):
        problems.append(f'"{ORDER_KEY}" must be a list of field names, in the order the forms show them.')
    if problems:
        raise ValidationError({"schema": problems})
    return {**schema, ORDER_KEY: schema_property_names(schema)}


def schema_property_names(schema: dict[str, Any]) -> list[str]:
    """Property names in display order (x-order first, then any it does not list)."""
    properties = schema.get("properties", {})
    order = [name for name in schema.get(ORDER_KEY, []) if name in properties]
    return order + [name for name in properties if name not in order]


def schema_fields(schema: dict[str, Any]) -> list[CustomField]:
    """The schema's properties as form-ready fields, in the schema's order."""
    required = set(schema.get("required", []))
    fields = []
    for name in schema_property_names(schema):
        spec = schema["properties"][name]
        kind = spec.get("type", "string")
        choices = (spec.get("items") or {}).get("enum", ()) if kind == "array" else spec.get("enum", ())
        fields.append(
            CustomField(
                name=name,
                type=kind,
                label=spec.get("title") or name.replace("_", " ").capitalize(),
                help_text=spec.get("description", ""),
                required=name in required,
                choices=tuple(choices),
                labels=dict(spec.get(LABELS_KEY) or {}),
                choice_labels=dict(spec.get(CHOICE_LABELS_KEY) or {}),
                enum_labels=tuple(spec.get(ENUM_LABELS_KEY) or ()),
                section=spec.get(SECTION_KEY) or "",
                minimum=spec.get("minimum"),
                maximum=spec.get("maximum"),
                max_length=spec.get("maxLength"),
                min_length=spec.get("minLength"),
                format=spec.get("format", ""),
            )
        )
    return fields


# Schemas are read once per request (and at most once per job when passed in):
# a thread-local cache opened by request_started and dropped at request_finished.
_local = threading.local()


def _cache_open(**kwargs: Any) -> None:
    _local.schemas = {}


def _cache_drop(**kwargs: Any) -> None:
    _local.schemas = None


request_started.connect(_cache_open, dispatch_uid="registry_schema_cache_open")
request_finished.connect(_cache_drop, dispatch_uid="registry_schema_cache_drop")
post_save.connect(_cache_drop, sender=RegistrySchema, dispatch_uid="registry_schema_cache_saved")
post_delete.connect(_cache_drop, sender=RegistrySchema, dispatch_uid="registry_schema_cache_deleted")


def schema_for(kind: str) -> dict[str, Any]:
    """The current schema of `kind` ("individual" or "household"); an empty schema if none is stored."""
    cache = getattr(_local, "schemas", None)
    if cache is not None and kind in cache:
        return cache[kind]
    schema = RegistrySchema.objects.filter(kind=kind).values_list("schema", flat=True).first() or EMPTY_SCHEMA
    if cache is not None:
        cache[kind] = schema
    return schema


def _message(error: Any, field: CustomField | None) -> str:
    keyword = error.validator
    if keyword == "type":
        expected = {
            "string": "text",
            "number": "a number",
            "integer": "a whole number",
            "boolean": "true or false",
            "array": "a list of choices",
        }
        wanted = expected.get(str(error.validator_value), error.validator_value)
        return f"Enter {wanted}, not {error.instance!r}."
    if keyword == "uniqueItems":
        return "A choice is given twice."
    if keyword == "enum":
        return f"{error.instance!r} is not one of the choices: {', '.join(map(str, error.validator_value))}."
    if keyword == "minimum":
        return f"Must be at least {error.validator_value}."
    if keyword == "maximum":
        return f"Must be at most {error.validator_value}."
    if keyword == "maxLength":
        return f"At most {error.validator_value} characters."
    if keyword == "minLength":
        return f"At least {error.validator_value} characters."
    if keyword == "format":
        return f"Enter a date as YYYY-MM-DD, not {error.instance!r}."
    return error.message


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def custom_data_validate(
    *,
    kind: str,
    data: Any,
    partial: bool = False,
    previous: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate custom-field values against the schema of `kind` and return them, ready to store.

    Errors are keyed per field (`{"data.education": "..."}`). Keys the schema no
    longer has are kept as they are when `previous` holds them with the same
    value (a removed field never loses its old values); other unknown keys are
    refused. `partial` skips the required check (a change of some fields only).
    Pass `schema` when validating many rows so it is read once.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError({"data": "Custom fields must be a JSON object of field: value."})
    schema = schema if schema is not None else schema_for(kind)
    properties = schema.get("properties", {})
    previous = previous or {}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        value = _jsonable(value)
        if key not in properties:
            if key in previous and previous[key] == value:
                cleaned[key] = value
            else:
                errors.setdefault(f"data.{key}", []).append(f"{key!r} is not a custom field of {kind}s.")
            continue
        if value is None or value == "" or value == []:
            continue  # an empty value is no value: the key is dropped
        cleaned[key] = value
    if not partial:
        for name in schema.get("required", []):
            if name not in cleaned:
                label = properties.get(name, {}).get("title") or name
                errors.setdefault(f"data.{name}", []).append(f"{label} is required.")
    fields = {field.name: field for field in schema_fields(schema)}
    known = {key: value for key, value in cleaned.items() if key in properties}
    check = {"type": "object", "properties": properties}
    validator = Draft202012Validator(check, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(known):
        name = str(error.absolute_path[0]) if error.absolute_path else ""
        errors.setdefault(f"data.{name}" if name else "data", []).append(_message(error, fields.get(name)))
    for name, value in known.items():
        # JSON Schema accepts 1.0 as an integer and True as nothing else; store clean types.
        if fields[name].type == "integer" and isinstance(value, float) and value.is_integer():
            cleaned[name] = int(value)
    if errors:
        raise ValidationError(errors)
    return cleaned


def records_missing_required(kind: str, field: str) -> int:
    """How many stored records of `kind` have no value for `field` (one set-based COUNT)."""
    model = MODEL_BY_KIND[SchemaKind(kind)]
    return model.objects.exclude(data__has_key=field).count()
