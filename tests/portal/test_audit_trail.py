"""Audit trail: every domain model keeps its history, with who and when, shown on its History page."""

from __future__ import annotations

from django.apps import apps

from registry.models import Individual, Location

DOMAIN_APPS = ("registry", "programs", "approvals", "grievances", "portal")
# Records that are not domain data, or are themselves an append-only log.
NOT_AUDITED = {
    "registry.SavedSearch": "a person's saved search screen, not registry data",
    "registry.SearchColumns": "a person's choice of result columns, not registry data",
    "registry.RegistryApiCall": "itself the append-only trail of the registry API's calls",
    "programs.BeneficiaryStatusChange": "itself the append-only log of status changes",
    "portal.RegistrySummary": "counts rebuilt from the registry by the dashboard's refresh",
    "portal.BeneficiarySummary": "counts rebuilt from the plans by the dashboard's refresh",
    "portal.PaymentSummary": "counts rebuilt from the payrolls by the dashboard's refresh",
    "portal.SummaryRefresh": "itself the log of the dashboard's refreshes",
    "portal.SummaryChange": "a queue of stale summary keys, consumed by the next refresh",
    "grievances.TicketEvent": "itself the append-only log of a ticket's steps (who, when, comment)",
    "grievances.TicketNumber": "a per-year counter that numbers tickets, not data",
    "grievances.Attachment": "append-only: a file given with a ticket, with who and when; never changed",
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


def test_registering_an_individual_in_the_admin_records_who(client, maker, tree):
    from tests.registry.test_individuals_admin import add_form

    client.force_login(maker)
    response = client.post("/admin/registry/individual/add/", add_form(tree.north_a))
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = Individual.objects.get()
    records = list(person.history.all())
    assert records[-1].history_type == "+" and records[-1].history_date
    assert {record.history_user for record in records} == {maker}
    history = client.get(f"/admin/registry/individual/{person.pk}/history/")
    assert history.status_code == 200
    assert "maker" in history.content.decode()


def test_history_page_is_scoped(client, south_officer, tree):
    client.force_login(south_officer)
    assert client.get(f"/admin/registry/location/{tree.north.pk}/history/").status_code == 404
