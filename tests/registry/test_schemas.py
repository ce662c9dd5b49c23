"""Custom-field schemas: checking a schema, validating values per field, never corrupting stored data."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from registry.models import Individual, RegistrySchema
from registry.schemas import (
    custom_data_validate,
    records_missing_required,
    schema_check,
    schema_fields,
    schema_for,
    schema_property_names,
)
from registry.services import individual_update, registry_schema_save

pytestmark = pytest.mark.django_db


def test_default_schemas_have_the_agreed_fields() -> None:
    individual = schema_for("individual")
    household = schema_for("household")
    assert schema_property_names(individual) == [
        "disability",
        "education",
        "occupation",
        "chronic_illness",
        "school_attendance",
    ]
    assert schema_property_names(household) == [
        "dwelling_type",
        "water_source",
        "has_electricity",
        "monthly_income",
        "land_hectares",
    ]
    assert individual["properties"]["school_attendance"] == {
        "type": "number",
        "title": "Share of school days attended",
        "minimum": 0,
        "maximum": 1,
    }
    assert individual["required"] == household["required"] == []


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ([1, 2], "must be a JSON object"),
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "Not a valid JSON Schema"),
        ({"type": "object", "properties": {"tags": {"type": "object"}}}, "type 'object' is not supported"),
        ({"type": "object", "properties": {"tags": {"type": "array"}}}, "an array is several choices"),
        ({"type": "object", "properties": {"Bad Name": {"type": "string"}}}, "must start with a lower-case"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "'b' is not among"),
        (
            {"type": "object", "properties": {"n": {"type": "number", "minimum": 5, "maximum": 1}}},
            "above maximum",
        ),
        ({"type": "object", "properties": {"d": {"type": "string", "format": "email"}}}, 'only "date"'),
    ],
)
def test_a_bad_schema_is_refused_with_a_clear_message(schema, fragment) -> None:
    with pytest.raises(ValidationError) as error:
        schema_check(schema)
    assert fragment in " ".join(error.value.message_dict["schema"])


def test_a_bad_schema_is_not_stored() -> None:
    before = RegistrySchema.objects.get(kind="individual").schema
    with pytest.raises(ValidationError):
        registry_schema_save(
            kind="individual", schema={"type": "object", "properties": {"x": {"type": "nope"}}}
        )
    assert RegistrySchema.objects.get(kind="individual").schema == before


def test_values_are_checked_per_field() -> None:
    with pytest.raises(ValidationError) as error:
        custom_data_validate(
            kind="individual",
            data={"education": "phd", "school_attendance": 1.5, "disability": "yes", "shoe_size": 42},
        )
    errors = error.value.message_dict
    assert "not one of the choices" in errors["data.education"][0]
    assert errors["data.school_attendance"] == ["Must be at most 1."]
    assert "true or false" in errors["data.disability"][0]
    assert "not a custom field" in errors["data.shoe_size"][0]


def test_good_values_pass_and_empty_values_are_dropped() -> None:
    data = custom_data_validate(
        kind="household", data={"monthly_income": 120.0, "water_source": "", "has_electricity": False}
    )
    assert data == {"monthly_income": 120, "has_electricity": False}
    assert isinstance(data["monthly_income"], int)


def test_date_fields_and_text_limits() -> None:
    schema = schema_check(
        {
            "type": "object",
            "properties": {
                "visited": {"type": "string", "format": "date", "title": "Visited on"},
                "note": {"type": "string", "maxLength": 3},
            },
            "required": ["visited"],
        }
    )
    assert [field.label for field in schema_fields(schema)] == ["Visited on", "Note"]
    with pytest.raises(ValidationError) as error:
        custom_data_validate(kind="individual", data={"visited": "31/12/2020", "note": "long"}, schema=schema)
    assert "YYYY-MM-DD" in error.value.message_dict["data.visited"][0]
    assert error.value.message_dict["data.note"] == ["At most 3 characters."]
    with pytest.raises(ValidationError) as error:
        custom_data_validate(kind="individual", data={}, schema=schema)
    assert error.value.message_dict["data.visited"] == ["Visited on is required."]
    assert custom_data_validate(kind="individual", data={}, schema=schema, partial=True) == {}


def test_removing_a_field_keeps_old_values(tree, make_individual) -> None:
    person = make_individual(tree.north_a, data={"education": "primary", "disability": True})
    schema = RegistrySchema.objects.get(kind="individual").schema
    del schema["properties"]["education"]
    registry_schema_save(kind="individual", schema=schema)
    person.refresh_from_db()
    assert person.data == {"education": "primary", "disability": True}
    # Editing the other fields keeps the orphaned value untouched.
    individual_update(individual=person, data={**person.data, "disability": False})
    person.refresh_from_db()
    assert person.data == {"education": "primary", "disability": False}


def test_a_new_required_field_applies_to_new_writes_and_is_counted(tree, make_individual) -> None:
    make_individual(tree.north_a, data={"education": "primary"})
    make_individual(tree.north_a)
    schema = RegistrySchema.objects.get(kind="individual").schema
    schema["required"] = ["education"]
    registry_schema_save(kind="individual", schema=schema)
    assert records_missing_required("individual", "education") == 1
    assert Individual.objects.count() == 2  # nothing rewritten
    with pytest.raises(ValidationError) as error:
        make_individual(tree.north_a)
    assert error.value.message_dict["data.education"] == ["Education is required."]
    assert Individual.objects.count() == 2
