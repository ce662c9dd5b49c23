"""In a real browser: an officer registers a person with custom fields; a bad value shows at its field."""

from __future__ import annotations

import pytest

from registry.models import Individual
from registry.services import registry_schema_save
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {
        "education": {"type": "string", "title": "Education", "enum": ["none", "primary", "secondary"]},
        "school_attendance": {
            "type": "number",
            "title": "Share of school days attended",
            "minimum": 0,
            "maximum": 1,
        },
    },
    "required": ["education"],
}


def test_register_a_person_with_custom_fields(page, maker, tree) -> None:
    registry_schema_save(kind="individual", schema=SCHEMA)  # a transactional test starts empty
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    browser_login(page, "maker")
    page.goto("/admin/registry/individual/add/")
    page.fill("#id_given_name", "Ngozi")
    page.fill("#id_family_name", "Adeyemi")
    page.select_option("#id_sex", "F")
    page.evaluate(
        "id => { const s = document.getElementById('id_location');"
        " s.add(new Option('North A', id, true, true)); }",
        str(tree.north_a.pk),
    )
    page.fill("#id_data__school_attendance", "3")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    assert "Education" in page.inner_text(".field-data__education")
    assert "This field is required." in page.inner_text(".field-data__education")
    assert not Individual.objects.exists()
    page.select_option("#id_data__education", "secondary")
    page.fill("#id_data__school_attendance", "0.75")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    person = Individual.objects.get()
    assert person.data == {"education": "secondary", "school_attendance": 0.75}
    assert not [e for e in errors if "Content Security Policy" in e], errors
