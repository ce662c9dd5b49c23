"""The custom-fields form of the registry's schemas: it writes the schema; labels renamed and fields removed
keep the data; a change stored values would break is refused on the row with their count; keys
never change."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from registry.models import Individual, RegistrySchema

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(administrator) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


def fields_url(kind: str = "individual") -> str:
    return reverse("admin:registry_registryschema_fields", args=[RegistrySchema.objects.get(kind=kind).pk])


def form_data(client: Client, url: str) -> dict[str, Any]:
    """The page's formset as the browser would post it back unchanged."""
    formset = client.get(url).context["formset"]
    data: dict[str, Any] = {
        f"{formset.prefix}-TOTAL_FORMS": str(len(formset.forms)),
        f"{formset.prefix}-INITIAL_FORMS": str(formset.initial_form_count()),
        f"{formset.prefix}-MIN_NUM_FORMS": "0",
        f"{formset.prefix}-MAX_NUM_FORMS": "1000",
    }
    for form in formset.forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def row(data: dict[str, Any], key: str) -> str:
    """The prefix of the row holding `key` ("fields-3")."""
    for name, value in data.items():
        if name.endswith("-key") and value == key:
            return name.removesuffix("-key")
    raise KeyError(key)


def test_adding_a_field_writes_the_schema_and_the_person_page_shows_it(client, tree, make_individual) -> None:
    data = form_data(client, fields_url())
    new = "fields-5"  # the first empty row after the five stored fields
    data.update(
        {
            f"{new}-key": "livelihood",
            f"{new}-type": "choices",
            f"{new}-label_en": "Livelihoods",
            f"{new}-label_fr": "Moyens de subsistance",
            f"{new}-choices": "farming | Farming | Agriculture\nfishing | Fishing | Pêche",
            f"{new}-section": "Economy",
            f"{new}-required": "on",
            f"{new}-ORDER": "0",
        }
    )
    response = client.post(fields_url(), data)
    assert response.status_code == 302, response.context["formset"].errors
    schema = RegistrySchema.objects.get(kind="individual").schema
    spec = schema["properties"]["livelihood"]
    assert spec["type"] == "array" and spec["items"]["enum"] == ["farming", "fishing"]
    assert spec["x-labels"] == {"en": "Livelihoods", "fr": "Moyens de subsistance"}
    assert spec["x-choice-labels"]["fishing"] == {"en": "Fishing", "fr": "Pêche"}
    assert spec["x-section"] == "Economy"
    assert schema["required"] == ["livelihood"] and schema["x-order"][0] == "livelihood"
    person = make_individual(tree.north_a, data={"livelihood": ["fishing"]})
    with translation.override("fr"):
        page = client.get(
            reverse("admin:registry_individual_change", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="fr"
        )
    html = page.content.decode()
    assert "Economy" in html and 'name="data__livelihood"' in html
    form = page.context["adminform"].form
    assert form.fields["data__livelihood"].initial is None and form.initial["data__livelihood"] == ["fishing"]


def test_renaming_a_label_keeps_the_data_and_a_key_cannot_change(client, tree, make_individual) -> None:
    person = make_individual(tree.north_a, data={"education": "primary"})
    data = form_data(client, fields_url())
    prefix = row(data, "education")
    data[f"{prefix}-label_en"] = "Schooling level"
    data[f"{prefix}-key"] = "schooling"  # a disabled field: the posted value is ignored
    response = client.post(fields_url(), data)
    assert response.status_code == 302
    schema = RegistrySchema.objects.get(kind="individual").schema
    assert schema["properties"]["education"]["title"] == "Schooling level"
    assert "schooling" not in schema["properties"]
    person.refresh_from_db()
    assert person.data == {"education": "primary"}


def test_removing_a_field_keeps_its_values_shown_as_removed(client, tree, make_individual) -> None:
    person = make_individual(tree.north_a, data={"education": "primary", "disability": True})
    data = form_data(client, fields_url())
    data[f"{row(data, 'education')}-DELETE"] = "on"
    assert client.post(fields_url(), data).status_code == 302
    assert "education" not in RegistrySchema.objects.get(kind="individual").schema["properties"]
    person.refresh_from_db()
    assert person.data["education"] == "primary"
    html = client.get(reverse("admin:registry_individual_change", args=[person.pk])).content.decode()
    assert "<code>education</code>: primary <em>(removed field)</em>" in html


def test_a_change_stored_values_break_is_refused_on_the_row_with_the_count(
    client, tree, make_individual
) -> None:
    for share in (0.25, 0.5, 0.75):
        make_individual(tree.north_a, data={"school_attendance": share})
    before = RegistrySchema.objects.get(kind="individual").schema
    data = form_data(client, fields_url())
    prefix = row(data, "school_attendance")
    data[f"{prefix}-maximum"] = "0.6"
    response = client.post(fields_url(), data)
    assert response.status_code == 200
    formset = response.context["formset"]
    errors = next(form.errors for form in formset.forms if form.initial.get("key") == "school_attendance")
    assert "1 stored record(s) hold a value of school_attendance" in errors["maximum"][0]
    data[f"{prefix}-type"] = "integer"
    data[f"{prefix}-maximum"] = "1"
    response = client.post(fields_url(), data)
    errors = next(
        form.errors
        for form in response.context["formset"].forms
        if form.initial.get("key") == "school_attendance"
    )
    assert errors["type"][0].startswith("3 stored record(s)")
    assert RegistrySchema.objects.get(kind="individual").schema == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"type": "choice", "choices": ""}, "choices", "List the choices"),
        (
            {"type": "boolean", "minimum": "1"},
            "minimum",
            "Only text, number and whole-number fields have bounds",
        ),
        ({"type": "number", "minimum": "5", "maximum": "1"}, "maximum", "below the minimum"),
        ({"key": "Bad Key"}, "key", "lower-case letters"),
        ({"label_en": ""}, "label_en", "Give the field a label"),
        ({"type": "text", "choices": "a | A"}, "choices", "Only a field of one or several choices"),
        ({"type": "choice", "choices": "a | A\na | B"}, "choices", "listed twice"),
        ({"key": "education"}, "key", "Another row already has the key"),
    ],
)
def test_bad_rows_are_refused_at_the_field(client, changes, field, message) -> None:
    before = RegistrySchema.objects.get(kind="individual").schema
    data = form_data(client, fields_url())
    new = "fields-5"
    data.update({f"{new}-key": "extra", f"{new}-type": "text", f"{new}-label_en": "Extra"})
    data.update({f"{new}-{name}": value for name, value in changes.items()})
    response = client.post(fields_url(), data)
    assert response.status_code == 200
    errors = response.context["formset"].forms[5].errors
    assert message in " ".join(errors[field]), errors
    assert RegistrySchema.objects.get(kind="individual").schema == before


def test_the_page_shows_the_raw_schema_read_only_and_officers_cannot_post(client, maker) -> None:
    page = client.get(fields_url()).content.decode()
    assert 'id="raw-schema"' in page and "&quot;school_attendance&quot;" in page
    officer = Client()
    officer.force_login(maker)
    assert officer.post(fields_url(), form_data(client, fields_url())).status_code == 403
    assert Individual.objects.count() == 0
