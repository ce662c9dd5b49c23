"""The schema editor: a bad schema is refused at the field, counts of records lacking a required field."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from registry.models import RegistrySchema

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(administrator) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


def url(kind: str = "individual") -> str:
    return reverse("admin:registry_registryschema_change", args=[RegistrySchema.objects.get(kind=kind).pk])


def test_the_editor_shows_the_fields_in_order(client) -> None:
    page = client.get(url()).content.decode()
    assert page.index("Living with a disability") < page.index("Share of school days attended")
    assert "x-order" not in page  # the order is the order of the text


def test_an_invalid_schema_is_refused_with_a_message_at_the_field(client) -> None:
    before = RegistrySchema.objects.get(kind="individual").schema
    bad = {"type": "object", "properties": {"age": {"type": "integer", "minimum": "ten"}}}
    response = client.post(url(), {"schema": json.dumps(bad)})
    assert response.status_code == 200
    assert "Not a valid JSON Schema" in response.context["adminform"].form.errors["schema"][0]
    response = client.post(url(), {"schema": "{not json"})
    assert response.context["adminform"].form.errors["schema"] == ["Enter a valid JSON."]
    assert RegistrySchema.objects.get(kind="individual").schema == before


def test_a_new_required_field_says_how_many_records_lack_it(client, tree, make_individual) -> None:
    make_individual(tree.north_a, data={"education": "none"})
    make_individual(tree.north_a)
    make_individual(tree.north_a)
    schema = RegistrySchema.objects.get(kind="individual").schema
    schema["required"] = ["education"]
    schema["properties"] = {"education": schema["properties"].pop("education"), **schema["properties"]}
    schema.pop("x-order")
    response = client.post(url(), {"schema": json.dumps(schema)}, follow=True)
    assert any(
        "2 existing record(s) have no value for the required field 'education'" in str(m)
        for m in response.context["messages"]
    )
    stored = RegistrySchema.objects.get(kind="individual").schema
    assert stored["required"] == ["education"] and stored["x-order"][0] == "education"
    page = client.get(url()).content.decode()
    assert "<code>education</code>: 2 record(s) have no value" in page


def test_an_officer_may_not_edit_schemas(maker) -> None:
    client = Client()
    client.force_login(maker)
    response = client.post(url(), {"schema": json.dumps({"type": "object", "properties": {}})})
    assert response.status_code == 403
