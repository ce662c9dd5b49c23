"""Household list and page: members with roles and ages, invariants at the field, scope, query counts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import Task
from approvals.services import task_approve
from registry.models import Household, HouseholdMember

pytestmark = pytest.mark.django_db
LIST = reverse("admin:registry_household_changelist")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def household_form(household: Household, **extra) -> dict[str, str]:
    members = list(household.memberships.filter(end_date__isnull=True).order_by("pk"))
    data = {
        "code": household.code,
        "location": str(household.location_id),
        "address": household.address,
        "latitude": "",
        "longitude": "",
        "registration_date": household.registration_date.isoformat(),
        "data__dwelling_type": "",
        "data__water_source": "",
        "data__has_electricity": "unknown",
        "data__monthly_income": "",
        "data__land_hectares": "",
        "memberships-TOTAL_FORMS": str(len(members)),
        "memberships-INITIAL_FORMS": str(len(members)),
    }
    for index, member in enumerate(members):
        data.update(
            {
                f"memberships-{index}-id": str(member.pk),
                f"memberships-{index}-household": str(household.pk),
                f"memberships-{index}-individual": str(member.individual_id),
                f"memberships-{index}-role": member.role,
            }
        )
        if member.is_primary_recipient:
            data[f"memberships-{index}-is_primary_recipient"] = "on"
    data.update(extra)
    return data


def test_the_page_lists_current_members_with_roles_and_ages(
    maker, tree, make_household, django_assert_max_num_queries
) -> None:
    client = client_for(maker)
    small = make_household(tree.north_a, members=3)
    large = make_household(tree.north_a, members=12)
    client.get(reverse("admin:registry_household_change", args=[small.pk]))
    with django_assert_max_num_queries(40) as few:
        response = client.get(reverse("admin:registry_household_change", args=[small.pk]))
    with django_assert_max_num_queries(40) as many:
        client.get(reverse("admin:registry_household_change", args=[large.pk]))
    assert len(many.captured_queries) == len(few.captured_queries)
    page = response.content.decode()
    head = small.memberships.get(role="head").individual
    assert str(head) in page and "current members" in page.lower()
    formset = response.context["inline_admin_formsets"][0].formset
    assert len(formset.forms) == 3
    ages = {form.instance.individual.age() for form in formset.forms}
    assert ages == {small.memberships.first().individual.age()}  # the builder's people share a birth date
    assert f"<p>{ages.pop()}</p>" in page


def test_list_shows_head_and_size_without_n_plus_one(
    maker, tree, make_household, django_assert_max_num_queries
) -> None:
    client = client_for(maker)
    for _ in range(3):
        make_household(tree.north_a, members=2)
    client.get(LIST)
    with django_assert_max_num_queries(16) as few:
        client.get(LIST)
    for _ in range(10):
        make_household(tree.north_b, members=3)
    with django_assert_max_num_queries(16) as many:
        response = client.get(LIST)
    assert len(many.captured_queries) == len(few.captured_queries)
    rows = response.context["cl"].result_list
    assert len(rows) == 13 and all(row.head_name for row in rows)


def test_two_heads_are_refused_at_the_field(maker, tree, make_household) -> None:
    household = make_household(tree.north_a, members=2)
    response = client_for(maker).post(
        reverse("admin:registry_household_change", args=[household.pk]),
        household_form(household, **{"memberships-1-role": "head"}),
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert any("one head at most" in error for form in formset.forms for error in form.errors.get("role", []))
    assert not Task.objects.exists()


def test_a_person_of_another_household_is_refused(maker, tree, make_household) -> None:
    household = make_household(tree.north_a, members=1)
    other = make_household(tree.north_a, members=1)
    outsider = other.memberships.get().individual
    data = household_form(
        household,
        **{
            "memberships-TOTAL_FORMS": "2",
            "memberships-1-individual": str(outsider.pk),
            "memberships-1-role": "child",
            "memberships-1-household": str(household.pk),
        },
    )
    response = client_for(maker).post(reverse("admin:registry_household_change", args=[household.pk]), data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[1].errors["individual"]
    assert errors[0].startswith(f"{outsider} is already a member of household {other.code}")


def test_members_leave_and_join_through_approval(
    maker, checker, tree, make_household, make_individual
) -> None:
    household = make_household(tree.north_a, members=2)
    newcomer = make_individual(tree.north_a)
    data = household_form(
        household,
        **{
            "memberships-TOTAL_FORMS": "3",
            "memberships-1-DELETE": "on",
            "memberships-2-individual": str(newcomer.pk),
            "memberships-2-role": "grandchild",
            "memberships-2-household": str(household.pk),
            "data__monthly_income": "250",
        },
    )
    response = client_for(maker).post(
        reverse("admin:registry_household_change", args=[household.pk]), data, follow=True
    )
    assert any("waiting for approval" in str(m) for m in response.context["messages"])
    household.refresh_from_db()
    assert household.size == 2 and household.data == {}
    task_approve(task=Task.objects.get(), user=checker)
    household.refresh_from_db()
    assert household.size == 2 and household.data == {"monthly_income": 250}
    assert HouseholdMember.objects.filter(household=household, end_date__isnull=False).count() == 1
    assert HouseholdMember.objects.get(individual=newcomer, end_date__isnull=True).role == "grandchild"


def test_a_new_household_with_members_is_created_directly(maker, tree, make_individual) -> None:
    head, child = make_individual(tree.north_a), make_individual(tree.north_a)
    data = {
        "code": "HH-NEW",
        "location": str(tree.north_a.pk),
        "address": "",
        "latitude": "",
        "longitude": "",
        "registration_date": "2026-01-01",
        "data__dwelling_type": "permanent",
        "data__water_source": "",
        "data__has_electricity": "unknown",
        "data__monthly_income": "",
        "data__land_hectares": "",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-individual": str(head.pk),
        "memberships-0-role": "head",
        "memberships-0-is_primary_recipient": "on",
        "memberships-1-individual": str(child.pk),
        "memberships-1-role": "child",
    }
    response = client_for(maker).post(reverse("admin:registry_household_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    household = Household.objects.get(code="HH-NEW")
    assert household.size == 2 and household.data == {"dwelling_type": "permanent"}


def test_another_locations_household_is_not_found(maker, tree, make_household) -> None:
    household = make_household(tree.south, members=1)
    client = client_for(maker)
    assert client.get(reverse("admin:registry_household_change", args=[household.pk])).status_code == 404
    assert list(client.get(LIST, {"q": household.code}).context["cl"].result_list) == []
