"""In a real browser: an administrator adds a custom field through the form (no JSON) and the individual's
page shows it."""

from __future__ import annotations

from datetime import date

import pytest

from registry.models import RegistrySchema
from registry.services import individual_create, registry_schema_save
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {"education": {"type": "string", "title": "Education", "enum": ["none", "primary"]}},
    "required": [],
}


def test_add_a_field_through_the_form_and_see_it_on_the_person(page, administrator, tree) -> None:
    record = registry_schema_save(kind="individual", schema=SCHEMA)  # a transactional test starts empty
    person = individual_create(
        location=tree.north_a, given_name="Ana", family_name="Silva", sex="F", birth_date=date(1990, 1, 1)
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    browser_login(page, "administrator")
    page.goto(f"/admin/registry/registryschema/{record.pk}/change/")
    page.click("#edit-custom-fields")
    page.wait_for_selector("#custom-fields-form")
    # Row 0 holds "education"; row 1 is the first empty one.
    page.fill("#id_fields-1-key", "livelihood")
    page.select_option("#id_fields-1-type", "choice")
    page.fill("#id_fields-1-label_en", "Main livelihood")
    page.fill("#id_fields-1-label_fr", "Moyen de subsistance")
    page.fill("#id_fields-1-choices", "farming | Farming | Agriculture\nfishing | Fishing | Pêche")
    page.fill("#id_fields-1-section", "Economy")
    page.click("#custom-fields-save")
    page.wait_for_load_state()
    errors_shown = page.locator(".errorlist").all_inner_texts()
    assert not errors_shown, errors_shown
    page.wait_for_selector(".messagelist .success")
    schema = RegistrySchema.objects.get(kind="individual").schema
    assert schema["properties"]["livelihood"]["enum"] == ["farming", "fishing"]
    page.goto(f"/admin/registry/individual/{person.pk}/change/")
    field = page.locator(".field-data__livelihood")
    assert "Main livelihood" in field.inner_text()
    page.select_option("#id_data__livelihood", "fishing")
    assert "Economy" in page.content()
    assert not [e for e in errors if "Content Security Policy" in e], errors
