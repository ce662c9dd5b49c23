"""Registry writes: people, documents, households and membership invariants, kept by the services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from registry.models import Household, HouseholdMember, IdentityDocument, Individual
from registry.services import (
    household_create,
    household_member_add,
    household_member_move,
    household_member_remove,
    household_member_update,
    household_sizes_refresh,
    household_update,
    individual_create,
    individual_update,
)

pytestmark = pytest.mark.django_db


def test_create_an_individual_with_documents_and_custom_fields(tree) -> None:
    person = individual_create(
        given_name="Amina",
        family_name="Okafor",
        sex="F",
        location=tree.north_a,
        birth_date=date(1980, 5, 1),
        data={"education": "secondary", "disability": False},
        documents=[("national_id", " 123 ")],
    )
    assert person.data == {"education": "secondary", "disability": False}
    assert list(person.documents.values_list("doc_type", "value")) == [("national_id", "123")]


def test_bad_input_is_reported_per_field_and_nothing_is_stored(tree, make_individual) -> None:
    owner = make_individual(
        tree.north_a, given_name="Ada", family_name="Bello", documents=[("national_id", "123")]
    )
    with pytest.raises(ValidationError) as error:
        individual_create(
            given_name="",
            family_name="X",
            sex="Q",
            location=tree.north_a,
            birth_date=date.today() + timedelta(days=3),
            data={"education": 7},
            documents=[("national_id", "123"), ("voter_card", "")],
        )
    errors = error.value.message_dict
    assert set(errors) >= {"given_name", "sex", "data.education", "documents"}
    assert Individual.objects.count() == 1
    with pytest.raises(ValidationError) as error:
        individual_create(
            given_name="B",
            family_name="X",
            sex="M",
            location=tree.north_a,
            documents=[("national_id", "123")],
        )
    assert error.value.message_dict["documents"] == [
        f"National ID 123 is already used by Ada Bello (id {owner.pk})."
    ]
    assert Individual.objects.count() == 1 and IdentityDocument.objects.count() == 1


def test_update_replaces_documents_and_checks_other_people(tree, make_individual) -> None:
    make_individual(tree.north_a, given_name="Ada", family_name="Bello", documents=[("voter_card", "V1")])
    person = make_individual(tree.north_a, documents=[("national_id", "1")])
    individual_update(individual=person, phone="+100", documents=[("national_id", "1"), ("passport", "P9")])
    assert sorted(person.documents.values_list("value", flat=True)) == ["1", "P9"]
    with pytest.raises(ValidationError) as error:
        individual_update(individual=person, phone="+200", documents=[("voter_card", "V1")])
    assert "Voter card V1 is already used by Ada Bello" in error.value.message_dict["documents"][0]
    person.refresh_from_db()
    assert person.phone == "+100"
    assert sorted(person.documents.values_list("value", flat=True)) == ["1", "P9"]


def test_officers_write_only_in_their_locations(tree, maker, make_individual) -> None:
    with pytest.raises(ValidationError) as error:
        individual_create(given_name="A", family_name="B", sex="F", location=tree.south, user=maker)
    assert "outside your locations" in error.value.message_dict["location"][0]
    person = individual_create(given_name="A", family_name="B", sex="F", location=tree.north_b, user=maker)
    with pytest.raises(ValidationError):
        individual_update(individual=person, location=tree.south, user=maker)


def test_household_code_is_unique_with_a_clear_message(tree) -> None:
    household_create(code="H1", location=tree.north_a)
    with pytest.raises(ValidationError) as error:
        household_create(code="H1", location=tree.north_a, data={"monthly_income": -5})
    assert error.value.message_dict["code"] == ["Household code H1 is already used."]
    assert error.value.message_dict["data.monthly_income"] == ["Must be at least 0."]


def test_one_head_one_primary_recipient_and_size(tree, make_household, make_individual) -> None:
    household = make_household(tree.north_a, members=2)
    assert household.size == 2
    newcomer = make_individual(tree.north_a, given_name="Kofi", family_name="Mensah")
    head = household.memberships.get(role="head").individual
    with pytest.raises(ValidationError) as error:
        household_member_add(household=household, individual=newcomer, role="head")
    assert error.value.message_dict["role"] == [f"{head} is already the head of household {household}."]
    with pytest.raises(ValidationError) as error:
        household_member_add(
            household=household, individual=newcomer, role="spouse", is_primary_recipient=True
        )
    assert "already the primary recipient" in error.value.message_dict["is_primary_recipient"][0]
    household_member_add(household=household, individual=newcomer, role="spouse")
    household.refresh_from_db()
    assert household.size == 3


def test_a_person_deleted_meanwhile_cannot_be_added_to_a_household(
    tree, make_household, make_individual
) -> None:
    # Memberships have no database FK check: the service refuses a person who is gone (and locks one who is not).
    household = make_household(tree.north_a, members=1)
    person = make_individual(tree.north_a, given_name="Esi", family_name="Owusu")
    Individual.objects.filter(pk=person.pk).delete()
    with pytest.raises(ValidationError) as error:
        household_member_add(household=household, individual=person, role="child")
    assert error.value.message_dict["individual"] == ["This person is no longer in the registry."]
    assert not HouseholdMember.objects.filter(individual_id=person.pk).exists()


def test_a_person_is_in_one_household_and_moves_are_recorded(tree, make_household, make_individual) -> None:
    first = make_household(tree.north_a, members=1)
    second = make_household(tree.north_b, members=1)
    person = make_individual(tree.north_a, given_name="Esi", family_name="Owusu")
    household_member_add(household=first, individual=person, role="child")
    with pytest.raises(ValidationError) as error:
        household_member_add(household=second, individual=person, role="child")
    assert error.value.message_dict["individual"][0].startswith(
        f"Esi Owusu is already a member of household {first.code}"
    )
    household_member_move(individual=person, household=second, role="other_relative")
    memberships = list(HouseholdMember.objects.filter(individual=person).order_by("pk"))
    assert [m.household_id for m in memberships] == [first.pk, second.pk]
    assert memberships[0].end_date == date.today() and memberships[1].end_date is None
    assert list(Household.objects.order_by("pk").values_list("size", flat=True)) == [1, 2]


def test_role_change_and_removal(tree, make_household) -> None:
    household = make_household(tree.north_a, members=3)
    child = household.memberships.filter(role="child").first()
    with pytest.raises(ValidationError):
        household_member_update(membership=child, role="head")
    household_member_update(membership=child, role="grandchild")
    household_member_remove(membership=child)
    household.refresh_from_db()
    assert household.size == 2
    with pytest.raises(ValidationError):
        household_member_remove(membership=child)


def test_sizes_refresh_is_set_based(tree, make_household, django_assert_num_queries) -> None:
    households = [make_household(tree.north_a, members=n) for n in (0, 2, 3)]
    Household.objects.update(size=0)
    with django_assert_num_queries(1):
        household_sizes_refresh()
    assert list(Household.objects.order_by("pk").values_list("size", flat=True)) == [0, 2, 3]
    Household.objects.update(size=9)
    with django_assert_num_queries(1):
        household_sizes_refresh(households=Household.objects.filter(pk=households[1].pk))
    assert list(Household.objects.order_by("pk").values_list("size", flat=True)) == [9, 2, 9]


def test_household_update_validates_custom_fields(tree, make_household) -> None:
    household = make_household(tree.north_a)
    with pytest.raises(ValidationError) as error:
        household_update(household=household, address="Road 1", data={"dwelling_type": "castle"})
    assert "data.dwelling_type" in error.value.message_dict
    household.refresh_from_db()
    assert household.address == ""
    household_update(household=household, address="Road 1", data={"dwelling_type": "temporary"})
    household.refresh_from_db()
    assert (household.address, household.data) == ("Road 1", {"dwelling_type": "temporary"})


def test_a_race_on_the_head_is_caught_by_the_database_and_reported(
    tree, make_household, make_individual, monkeypatch
):
    import registry.services as services

    household = make_household(tree.north_a, members=1)
    newcomer = make_individual(tree.north_a)
    real_checks = services._member_checks
    calls = []

    def checks_that_miss_the_first_time(**kwargs):
        calls.append(kwargs)
        if len(calls) > 1:  # the second call is the one after the IntegrityError
            real_checks(**kwargs)

    monkeypatch.setattr(services, "_member_checks", checks_that_miss_the_first_time)
    with pytest.raises(ValidationError) as error:
        household_member_add(household=household, individual=newcomer, role="head")
    assert "is already the head of household" in error.value.message_dict["role"][0]
    assert not HouseholdMember.objects.filter(individual=newcomer).exists()


def test_a_race_on_a_document_is_caught_by_the_database_and_reported(tree, make_individual, monkeypatch):
    import registry.services as services

    make_individual(tree.north_a, given_name="Ada", family_name="Bello", documents=[("passport", "P1")])
    real_conflicts = services.identity_documents_conflicts
    calls = []

    def conflicts_missed_once(**kwargs):
        calls.append(kwargs)
        return real_conflicts(**kwargs) if len(calls) > 1 else []

    monkeypatch.setattr(services, "identity_documents_conflicts", conflicts_missed_once)
    with pytest.raises(ValidationError) as error:
        individual_create(
            given_name="B", family_name="C", sex="F", location=tree.north_a, documents=[("passport", "P1")]
        )
    assert "Passport P1 is already used by Ada Bello" in error.value.message_dict["documents"][0]
    assert Individual.objects.count() == 1
