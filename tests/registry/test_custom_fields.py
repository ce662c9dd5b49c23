"""Custom fields without JSON: definitions and the schema they write, the form field of each property, and
the set-based count of stored values a change would break."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError

from registry.custom_fields import (
    FieldDefinition,
    definitions_schema,
    schema_change_violations,
    schema_definitions,
    schema_form_fields,
)
from registry.expressions.context import schema_type
from registry.models import Individual, RegistrySchema
from registry.schemas import custom_data_validate, schema_check
from registry.services import registry_schema_save

pytestmark = pytest.mark.django_db

DEFINITIONS = [
    FieldDefinition(
        key="water",
        type="choice",
        labels={"en": "Water source", "fr": "Source d'eau", "pt": "Fonte de água"},
        choices=[("piped", {"en": "Piped", "fr": "Robinet"}), ("well", {"en": "Well", "fr": "Puits"})],
        required=True,
        section="Dwelling",
        help_text="Main source",
    ),
    FieldDefinition(
        key="assets",
        type="choices",
        labels={"en": "Assets", "fr": "Biens"},
        choices=[("radio", {"en": "Radio"}), ("bicycle", {"en": "Bicycle", "pt": "Bicicleta"})],
    ),
    FieldDefinition(key="rooms", type="integer", labels={"en": "Rooms"}, minimum=1, maximum=20),
    FieldDefinition(key="income", type="number", labels={"en": "Income"}, minimum=0),
    FieldDefinition(key="visited", type="date", labels={"en": "Visited on"}),
    FieldDefinition(key="electricity", type="boolean", labels={"en": "Electricity"}),
    FieldDefinition(key="note", type="text", labels={"en": "Note"}, maximum=10),
]


def _schema() -> dict:
    return schema_check(definitions_schema(DEFINITIONS))


def test_the_definitions_write_a_schema_the_validator_accepts_and_read_back_the_same() -> None:
    schema = _schema()
    assert schema["properties"]["water"]["enum"] == ["piped", "well"]
    assert schema["properties"]["water"]["title"] == "Water source"
    assert schema["properties"]["water"]["x-labels"]["fr"] == "Source d'eau"
    assert schema["properties"]["assets"]["type"] == "array"
    assert schema["properties"]["assets"]["items"] == {"type": "string", "enum": ["radio", "bicycle"]}
    assert schema["properties"]["note"]["maxLength"] == 10
    assert schema["properties"]["visited"] == {
        "type": "string",
        "format": "date",
        "title": "Visited on",
        "x-labels": {"en": "Visited on"},
    }
    assert schema["required"] == ["water"] and schema["x-order"][0] == "water"
    back = schema_definitions(schema)
    assert [d.key for d in back] == [d.key for d in DEFINITIONS]
    assert back[0] == DEFINITIONS[0]
    assert back[1].choices == DEFINITIONS[1].choices
    # The expressions still read a choice field, with its labels.
    assert schema_type(schema["properties"]["water"]) is not None
    assert schema_type(schema["properties"]["assets"]) is None


def test_values_are_validated_against_the_written_schema() -> None:
    schema = _schema()
    ok = custom_data_validate(
        kind="individual",
        schema=schema,
        data={"water": "well", "assets": ["radio"], "rooms": 3.0, "note": "ok"},
    )
    assert ok == {"water": "well", "assets": ["radio"], "rooms": 3, "note": "ok"}
    assert "assets" not in custom_data_validate(
        kind="individual", schema=schema, data={"water": "well", "assets": []}
    )
    with pytest.raises(ValidationError) as error:
        custom_data_validate(
            kind="individual",
            schema=schema,
            data={"water": "river", "assets": ["radio", "car"], "rooms": 0, "note": "far too long"},
        )
    problems = error.value.message_dict
    assert set(problems) == {"data.water", "data.assets", "data.rooms", "data.note"}
    assert "'car' is not one of the choices" in problems["data.assets"][0]


def test_each_property_becomes_its_django_form_field_labelled_in_the_language() -> None:
    fields = schema_form_fields(_schema(), language="fr")
    assert list(fields) == [d.key for d in DEFINITIONS]
    water = fields["water"]
    assert isinstance(water, forms.ChoiceField) and water.required
    assert water.label == "Source d'eau" and water.help_text == "Main source"
    assert water.choices == [("", "---------"), ("piped", "Robinet"), ("well", "Puits")]
    assets = fields["assets"]
    assert isinstance(assets, forms.MultipleChoiceField) and not assets.required
    assert assets.choices == [("radio", "Radio"), ("bicycle", "Bicycle")]  # no French label: the default one
    assert schema_form_fields(_schema(), language="pt")["assets"].choices[1] == ("bicycle", "Bicicleta")
    assert isinstance(fields["rooms"], forms.IntegerField)
    assert (fields["rooms"].min_value, fields["rooms"].max_value) == (1, 20)
    assert isinstance(fields["income"], forms.FloatField) and fields["income"].min_value == 0
    assert isinstance(fields["visited"], forms.DateField)
    assert isinstance(fields["electricity"], forms.NullBooleanField)
    assert isinstance(fields["note"], forms.CharField) and fields["note"].max_length == 10
    assert fields["rooms"].label == "Rooms"  # no French label: the default one
    # A stored value that is no longer a choice stays offered, marked.
    kept = schema_form_fields(_schema(), language="en", stored={"water": "river"})["water"]
    assert ("river", "river (no longer a choice)") in kept.choices


def _individuals(tree, make_individual, *values: dict) -> None:
    for data in values:
        make_individual(tree.north_a, data=data)


def _with(schema: dict, key: str, **spec) -> dict:
    changed = {**schema, "properties": {**schema["properties"], key: {**schema["properties"][key], **spec}}}
    return changed


def test_a_change_that_stored_values_break_is_counted_in_one_query(
    tree, make_individual, django_assert_num_queries
) -> None:
    old = RegistrySchema.objects.get(kind="individual").schema
    _individuals(
        tree,
        make_individual,
        {"school_attendance": 0.5, "education": "primary"},
        {"school_attendance": 1, "education": "none"},
        {"education": "tertiary"},
        {},
    )
    new = _with(old, "school_attendance", type="integer")  # 0.5 is not whole
    new = _with(new, "education", enum=["none", "primary", "secondary"])  # tertiary removed
    new = _with(new, "disability", title="Disabled (renamed label)")  # a label: nothing to check
    with django_assert_num_queries(1):
        found = schema_change_violations(Individual.objects.all(), old=old, new=new)
    assert found == {"school_attendance": 1, "education": 1}


@pytest.mark.parametrize(
    ("stored", "key", "spec", "count"),
    [
        ([{"school_attendance": 0.4}, {"school_attendance": 0.9}], "school_attendance", {"maximum": 0.5}, 1),
        ([{"school_attendance": 0.4}], "school_attendance", {"minimum": 0.5}, 1),
        ([{"school_attendance": 0.4}], "school_attendance", {"type": "string"}, 1),
        ([{"disability": True}, {"disability": False}], "disability", {"type": "string"}, 2),
        (
            [{"education": "none"}],
            "education",
            {"type": "array", "items": {"type": "string", "enum": ["none"]}},
            1,
        ),
        ([{"education": "none"}], "education", {"maxLength": 3}, 1),
        ([{"education": "none"}], "education", {"maxLength": 4}, 0),
        ([{"education": "none"}], "education", {"format": "date", "enum": None}, 1),
    ],
)
def test_each_kind_of_constraint_is_checked_in_the_database(
    tree, make_individual, stored, key, spec, count
) -> None:
    old = RegistrySchema.objects.get(kind="individual").schema
    _individuals(tree, make_individual, *stored, {})
    spec = {name: value for name, value in spec.items()}
    new = _with(old, key, **spec)
    new["properties"][key] = {
        name: value for name, value in new["properties"][key].items() if value is not None
    }
    found = schema_change_violations(Individual.objects.all(), old=old, new=new)
    assert found.get(key, 0) == count


def test_several_choices_are_checked_element_by_element(tree, make_individual) -> None:
    schema = definitions_schema(DEFINITIONS)
    RegistrySchema.objects.filter(kind="individual").update(schema=schema_check(schema))
    _individuals(
        tree,
        make_individual,
        {"water": "well", "assets": ["radio", "bicycle"]},
        {"water": "well", "assets": ["radio"]},
        {"water": "well"},
    )
    narrower = _with(schema, "assets", items={"type": "string", "enum": ["radio"]})
    assert schema_change_violations(Individual.objects.all(), old=schema, new=narrower) == {"assets": 1}
    to_one = _with(schema, "assets", type="string", enum=["radio", "bicycle"])
    del to_one["properties"]["assets"]["items"], to_one["properties"]["assets"]["uniqueItems"]
    assert schema_change_violations(Individual.objects.all(), old=schema, new=to_one) == {"assets": 2}


def test_the_service_refuses_a_breaking_change_and_keeps_a_label_or_removal(tree, make_individual) -> None:
    old = RegistrySchema.objects.get(kind="individual").schema
    _individuals(tree, make_individual, {"school_attendance": 0.5}, {"school_attendance": 0.75})
    with pytest.raises(ValidationError) as error:
        registry_schema_save(kind="individual", schema=_with(old, "school_attendance", maximum=0.6))
    assert "school_attendance: 1 stored record(s)" in error.value.message_dict["schema"][0]
    assert RegistrySchema.objects.get(kind="individual").schema == old
    # Removing the field keeps its values; adding it back under the same key checks them again.
    removed = {**old, "properties": {k: v for k, v in old["properties"].items() if k != "school_attendance"}}
    removed["x-order"] = [k for k in old["x-order"] if k != "school_attendance"]
    registry_schema_save(kind="individual", schema=removed)
    assert sorted(Individual.objects.values_list("data__school_attendance", flat=True)) == [0.5, 0.75]
    back = {**removed, "properties": {**removed["properties"], "school_attendance": {"type": "integer"}}}
    with pytest.raises(ValidationError):
        registry_schema_save(kind="individual", schema=back)
