"""The household on one page: register with members, errors on the row and field, edit through approval."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import Task
from approvals.services import task_approve
from registry.models import Household, HouseholdMember, IdentityDocument, Individual

pytestmark = pytest.mark.django_db
ADD = reverse("admin:registry_household_add")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row(**values: Any) -> dict[str, str]:
    base = {"given_name": "", "family_name": "", "sex": "", "birth_date": "", "role": "", "membership": ""}
    base.update(values)
    return {key: str(value) for key, value in base.items()}


def page_data(location, rows: list[dict[str, str]], *, initial: int = 0, **household: str) -> dict[str, str]:
    data = {
        "code": "HH-PAGE",
        "location": str(location.pk),
        "address": "",
        "latitude": "",
        "longitude": "",
        "registration_date": "2026-01-01",
        "data__has_electricity": "unknown",
        "members-TOTAL_FORMS": str(len(rows)),
        "members-INITIAL_FORMS": str(initial),
        **household,
    }
    for index, values in enumerate(rows):
        data.update({f"members-{index}-{key}": value for key, value in values.items()})
    return data


def five(tree) -> list[dict[str, str]]:
    return [
        row(given_name="Amina", family_name="Okafor", sex="F", birth_date="1980-03-01", role="head",
            doc_type_0="national_id", doc_value_0="NID-100", data__education="secondary"),
        row(given_name="Kofi", family_name="Okafor", sex="M", birth_date="1978-07-12", role="spouse",
            is_primary_recipient="on", doc_type_0="national_id", doc_value_0="NID-101"),
        row(given_name="Esi", family_name="Okafor", sex="F", birth_date="2010-01-05", role="child",
            data__disability="true"),
        row(given_name="Yaw", family_name="Okafor", sex="M", birth_date="2012-09-30", role="child"),
        row(given_name="Ama", family_name="Mensah", sex="F", birth_date="1950-02-02", role="parent",
            doc_type_0="voter_card", doc_value_0="V-9"),
    ]  # fmt: skip


def row_errors(response, index: int) -> dict[str, list[str]]:
    return response.context["formset"].forms[index].errors


def test_a_household_of_five_is_registered_on_one_page(maker, tree) -> None:
    response = client_for(maker).post(ADD, page_data(tree.north_a, five(tree), data__water_source="well"))
    assert response.status_code == 302, response.context and response.context["page_errors"]
    household = Household.objects.get(code="HH-PAGE")
    assert household.size == 5 and household.data == {"water_source": "well"}
    members = {m.individual.given_name: m for m in household.memberships.select_related("individual")}
    assert members["Amina"].role == "head" and not members["Amina"].is_primary_recipient
    assert members["Kofi"].is_primary_recipient
    amina = members["Amina"].individual
    assert amina.birth_date == date(1980, 3, 1) and amina.data == {"education": "secondary"}
    assert amina.location == tree.north_a
    assert members["Esi"].individual.data == {"disability": True}
    assert set(IdentityDocument.objects.values_list("value", flat=True)) == {"NID-100", "NID-101", "V-9"}


def test_two_heads_are_refused_on_the_second_heads_row(maker, tree) -> None:
    rows = five(tree)
    rows[3]["role"] = "head"
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows))
    assert response.status_code == 200
    assert "Amina Okafor is already marked as head" in row_errors(response, 3)["role"][0]
    assert not row_errors(response, 0)
    assert not Household.objects.exists() and not Individual.objects.exists()


def test_no_head_is_refused_for_the_household(maker, tree) -> None:
    rows = five(tree)
    rows[0]["role"] = "spouse"
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows))
    assert response.status_code == 200
    assert response.context["page_errors"] == ["Mark one member as the head of the household."]
    assert not Individual.objects.exists()


def test_an_identity_number_twice_on_the_page_is_refused_on_the_later_row(maker, tree) -> None:
    rows = five(tree)
    rows[4].update(doc_type_0="national_id", doc_value_0="NID-100")
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows))
    assert response.status_code == 200
    assert row_errors(response, 4)["doc_value_0"] == ["National ID NID-100 is also given in row 1."]
    assert not Individual.objects.exists()


def test_an_identity_number_already_registered_is_refused_at_its_field(maker, tree, make_individual) -> None:
    holder = make_individual(tree.north_a, documents=[("national_id", "NID-101")])
    response = client_for(maker).post(ADD, page_data(tree.north_a, five(tree)))
    assert response.status_code == 200  # refused by the row's form, before any service
    assert row_errors(response, 1)["doc_value_0"] == [
        f"National ID NID-101 is already used by {holder} (id {holder.pk})."
    ]
    assert Individual.objects.count() == 1 and not Household.objects.exists()


def test_a_person_of_another_household_is_refused_on_their_row(maker, tree, make_household) -> None:
    other = make_household(tree.north_a, members=1)
    outsider = other.memberships.get().individual
    rows = five(tree)[:2] + [row(individual=outsider.pk, role="child")]
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows))
    assert response.status_code == 200
    assert row_errors(response, 2)["individual"] == [
        f"{outsider} is already a member of household {other.code}: they must leave it first."
    ]
    assert Household.objects.count() == 1 and Individual.objects.count() == 1


def test_missing_and_bad_values_are_named_on_the_row(maker, tree) -> None:
    rows = five(tree)
    rows[2].update(given_name="", birth_date="2999-01-01", data__school_attendance="7")
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows, code=""))
    errors = row_errors(response, 2)
    assert errors["given_name"] == ["This field is required."]
    assert errors["data__school_attendance"] == ["Ensure this value is less than or equal to 1."]
    assert response.context["form"].errors["code"] == ["This field is required."]
    assert not Individual.objects.exists()


def test_a_future_birth_date_is_refused_by_the_service_on_its_row(maker, tree) -> None:
    rows = five(tree)
    rows[2]["birth_date"] = "2999-01-01"
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows))
    assert response.status_code == 200
    assert row_errors(response, 2)["birth_date"] == ["The birth date is in the future."]
    assert not Individual.objects.exists() and not Household.objects.exists()


def test_someone_registered_before_joins_by_their_id(maker, tree, make_individual) -> None:
    grandmother = make_individual(tree.north_a)
    rows = five(tree)[:2] + [row(individual=grandmother.pk, role="parent")]
    response = client_for(maker).post(ADD, page_data(tree.north_a, rows))
    assert response.status_code == 302
    household = Household.objects.get(code="HH-PAGE")
    assert household.size == 3
    assert HouseholdMember.objects.get(individual=grandmother).household == household


def edit_data(household: Household, **changes: dict[str, str]) -> dict[str, str]:
    """The page's own form as GET renders it, with `changes` per row index (str) or household field."""
    client_page = changes.pop("_page")
    formset = client_page.context["formset"]
    form = client_page.context["form"]
    data: dict[str, str] = {}
    for bound in form:
        value = bound.value()
        if bound.name == "registration_date":
            value = value.isoformat() if hasattr(value, "isoformat") else value
        data[bound.name] = "" if value is None else str(getattr(value, "pk", value))
    data["data__has_electricity"] = data.get("data__has_electricity") or "unknown"
    data["members-TOTAL_FORMS"] = str(len(formset.forms))
    data["members-INITIAL_FORMS"] = str(len(formset.forms))
    for index, row_form in enumerate(formset.forms):
        for bound in row_form:
            value = bound.value()
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            data[bound.html_name] = "" if value is None else str(value)
        data.update({f"members-{index}-{key}": value for key, value in changes.get(str(index), {}).items()})
    data.update(changes.get("fields", {}))
    return data


def test_editing_uses_the_same_page_and_goes_through_approval(maker, checker, tree) -> None:
    client = client_for(maker)
    client.post(ADD, page_data(tree.north_a, five(tree)))
    household = Household.objects.get(code="HH-PAGE")
    url = reverse("admin:registry_household_change", args=[household.pk])
    page = client.get(url)
    assert page.status_code == 200 and len(page.context["formset"].forms) == 5
    assert 'value="NID-100"' in page.content.decode()
    data = edit_data(
        household,
        _page=page,
        **{
            "2": {"DELETE": "on"},
            "3": {"given_name": "Yao", "doc_type_0": "birth_certificate", "doc_value_0": "BC-1"},
            "fields": {"address": "12 Market Road"},
        },
    )
    baby = row(given_name="Baby", family_name="Okafor", sex="F", birth_date="2025-05-05", role="child")
    data.update({f"members-5-{key}": value for key, value in baby.items()})
    data["members-TOTAL_FORMS"] = "6"
    response = client.post(url, data, follow=True)
    assert any("waiting for approval" in str(m) for m in response.context["messages"]), response.context.get(
        "page_errors"
    )
    household.refresh_from_db()
    assert (
        household.size == 5 and household.address == "" and not Individual.objects.filter(given_name="Baby")
    )
    task = Task.objects.get()
    changes = {label for label, _before, _after in task_describe(task)}
    assert {
        "Address",
        "Yaw Okafor: Given name",
        "Yaw Okafor: Identity documents",
        "New person Baby Okafor",
    } <= changes
    task_approve(task=task, user=checker)
    household.refresh_from_db()
    assert household.size == 5 and household.address == "12 Market Road"
    assert Individual.objects.get(given_name="Yao").documents.get().value == "BC-1"
    assert (
        HouseholdMember.objects.get(individual__given_name="Baby", end_date__isnull=True).household
        == household
    )
    assert HouseholdMember.objects.get(individual__given_name="Esi").end_date == date.today()


def task_describe(task: Task) -> list[tuple[str, object, object]]:
    from approvals.actions import action_get

    return action_get(task.action).describer(target=task.target, payload=task.payload).changes


def test_an_edit_refused_by_the_services_is_shown_on_its_row_before_any_task(
    maker, tree, make_individual
) -> None:
    holder = make_individual(tree.north_a, documents=[("passport", "P-1")])
    client = client_for(maker)
    client.post(ADD, page_data(tree.north_a, five(tree)))
    household = Household.objects.get(code="HH-PAGE")
    url = reverse("admin:registry_household_change", args=[household.pk])
    data = edit_data(household, _page=client.get(url), **{"1": {"role": "head"}})
    response = client.post(url, data)
    assert "Amina Okafor is already marked as head" in row_errors(response, 1)["role"][0]
    data = edit_data(
        household, _page=client.get(url), **{"4": {"doc_type_1": "passport", "doc_value_1": "P-1"}}
    )
    response = client.post(url, data)
    assert row_errors(response, 4)["doc_value_1"] == [
        f"Passport P-1 is already used by {holder} (id {holder.pk})."
    ]
    assert not Task.objects.exists()


def test_page_queries_do_not_grow_with_members(
    maker, tree, make_household, django_assert_max_num_queries
) -> None:
    client = client_for(maker)
    small = make_household(tree.north_a, members=2)
    large = make_household(tree.north_a, members=9)
    client.get(reverse("admin:registry_household_change", args=[small.pk]))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("admin:registry_household_change", args=[small.pk]))
    with django_assert_max_num_queries(30) as many:
        response = client.get(reverse("admin:registry_household_change", args=[large.pk]))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(response.context["formset"].forms) == 9
    with django_assert_max_num_queries(30):
        assert client.get(ADD).status_code == 200


def test_a_viewer_gets_the_read_only_page(auditor, tree, make_household) -> None:
    household = make_household(tree.north_a, members=2)
    response = client_for(auditor).get(reverse("admin:registry_household_change", args=[household.pk]))
    assert response.status_code == 200 and "formset" not in response.context
    assert client_for(auditor).get(ADD).status_code == 403


def test_another_locations_household_is_not_found(maker, tree, make_household) -> None:
    household = make_household(tree.south, members=1)
    url = reverse("admin:registry_household_change", args=[household.pk])
    assert client_for(maker).get(url).status_code == 404
    assert client_for(maker).post(url, {"code": "FORGED"}).status_code == 404
