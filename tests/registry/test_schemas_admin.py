"""The schema editor: a bad schema is refused at the field, counts of records lacking a required field."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from registry.models import RegistrySchema
from tests.registry.test_custom_fields_admin import form_data, row

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


def test_the_raw_schema_is_read_only(client) -> None:
    before = RegistrySchema.objects.get(kind="individual").schema
    response = client.post(url(), {"schema": json.dumps({"type": "object", "properties": {}})}, follow=True)
    assert response.status_code == 200
    assert RegistrySchema.objects.get(kind="individual").schema == before
    page = client.get(url()).content.decode()
    fields = reverse(
        "admin:registry_registryschema_fields", args=[RegistrySchema.objects.get(kind="individual").pk]
    )
    assert fields in page and 'name="schema"' not in page


def test_a_new_required_field_says_how_many_records_lack_it(client, tree, make_individual) -> None:
    make_individual(tree.north_a, data={"education": "none"})
    make_individual(tree.north_a)
    make_individual(tree.north_a)
    fields = reverse(
        "admin:registry_registryschema_fields", args=[RegistrySchema.objects.get(kind="individual").pk]
    )
    data = form_data(client, fields)
    prefix = row(data, "education")
    data[f"{prefix}-required"] = "on"
    data[f"{prefix}-ORDER"] = "0"
    response = client.post(fields, data, follow=True)
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
