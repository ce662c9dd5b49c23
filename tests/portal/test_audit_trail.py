"""Audit trail: every domain model keeps its history, with who and when, shown on its History page."""

from __future__ import annotations

import pytest
from django.apps import apps

from registry.models import Individual, Location

DOMAIN_APPS = ("registry", "programs", "approvals", "grievances", "portal")
# Records that are not domain data, or are themselves an append-only log.
NOT_AUDITED = {
    "registry.SavedSearch": "a person's saved search screen, not registry data",
    "programs.BeneficiaryStatusChange": "itself the append-only log of status changes",
}


def test_every_domain_model_has_history():
    missing = []
    for app_label in DOMAIN_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__.startswith("Historical") or model._meta.auto_created:
                continue
            if not hasattr(model, "history") and model._meta.label not in NOT_AUDITED:
                missing.append(model._meta.label)
    assert not missing, f"models without django-simple-history: {missing}"


def test_editing_a_location_in_the_admin_records_who(client, administrator, tree):
    client.force_login(administrator)
    response = client.post(
        f"/admin/registry/location/{tree.north_a.pk}/change/",
        {"code": "N-A", "name": "North A renamed", "parent": tree.north.pk, "latitude": "", "longitude": ""},
    )
    assert response.status_code == 302
    latest = Location.history.filter(id=tree.north_a.pk).latest()
    assert latest.history_type == "~"
    assert latest.history_user == administrator
    assert latest.name == "North A renamed"

    page = client.get(f"/admin/registry/location/{tree.north_a.pk}/history/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "administrator" in content
    assert "North A renamed" in content or "Changed" in content


def test_editing_an_individual_in_the_admin_records_who(client, administrator, tree):
    person = Individual.objects.create(given_name="Ama", family_name="Mensah", sex="F", location=tree.north_a)
    client.force_login(administrator)
    change_url = f"/admin/registry/individual/{person.pk}/change/"
    form = client.get(change_url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, (list, dict))
    }
    data.update(
        {
            "given_name": "Ama",
            "family_name": "Mensah-Boateng",
            "sex": "F",
            "location": tree.north_a.pk,
            "data": "{}",
        }
    )
    for inline in client.get(change_url).context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(change_url, data)
    if response.status_code != 302:
        pytest.fail(f"individual form refused: {response.context['adminform'].form.errors}")
    latest = person.history.latest()
    assert latest.history_user == administrator and latest.family_name == "Mensah-Boateng"
    assert latest.history_date is not None
    history = client.get(f"/admin/registry/individual/{person.pk}/history/")
    assert history.status_code == 200 and "administrator" in history.content.decode()


def test_history_page_is_scoped(client, south_officer, tree):
    client.force_login(south_officer)
    assert client.get(f"/admin/registry/location/{tree.north.pk}/history/").status_code == 404
