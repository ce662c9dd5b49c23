"""registry.registration: a household and its members in one transaction; refusals keyed by row and field."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from approvals.models import ApprovalPolicy, Task
from approvals.services import task_approve
from registry.models import Household, HouseholdMember, IdentityDocument, Individual
from registry.registration import MemberEntry, household_change_request, household_register

pytestmark = pytest.mark.django_db


def person(given: str, role: str, *, documents=(), primary: bool = False, data=None, **fields) -> MemberEntry:
    return MemberEntry(
        role=role,
        is_primary_recipient=primary,
        data=data,
        person={
            "given_name": given,
            "family_name": "Diallo",
            "sex": "F",
            "birth_date": date(1990, 1, 1),
            **fields,
        },
        documents=list(documents),
    )


def refusal(**kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        household_register(**kwargs)
    return caught.value.message_dict


def test_registers_household_people_documents_and_memberships_at_once(maker, tree) -> None:
    household = household_register(
        user=maker,
        code="HH-1",
        location=tree.north_a,
        data={"water_source": "piped"},
        members=[
            person("Awa", "head", documents=[("national_id", "A1")]),
            person("Binta", "child", data={"disability": True}),
        ],
    )
    assert household.size == 2 and household.data == {"water_source": "piped"}
    assert Individual.objects.get(given_name="Binta").data == {"disability": True}
    head = HouseholdMember.objects.get(household=household, role="head")
    assert head.is_primary_recipient and head.individual.location == tree.north_a
    assert IdentityDocument.objects.get().individual == head.individual


def test_a_refusal_anywhere_stores_nothing(maker, tree, make_household) -> None:
    make_household(tree.north_a, code="HH-TAKEN")
    errors = refusal(
        user=maker,
        code="HH-TAKEN",
        location=tree.north_a,
        members=[person("Awa", "head"), person("Binta", "child")],
    )
    assert errors == {"code": ["Household code HH-TAKEN is already used."]}
    assert not Individual.objects.exists() and Household.objects.count() == 1


def test_each_rule_is_refused_on_its_row(maker, tree, make_individual, make_household) -> None:
    holder = make_individual(tree.north_a, documents=[("passport", "P9")])
    other = make_household(tree.north_a, members=1)
    member_elsewhere = other.memberships.get().individual
    errors = refusal(
        user=maker,
        code="HH-2",
        location=tree.north_a,
        members=[
            person("Awa", "head", primary=True),
            person("Binta", "head", primary=True),
            person("Coumba", "child", documents=[("passport", "P9")]),
            person("Dior", "child", documents=[("national_id", "N1")]),
            person("Fatou", "child", documents=[("national_id", "N1")]),
            MemberEntry(role="parent", individual=member_elsewhere),
            person("Gnima", "child", birth_date=date(2999, 1, 1), data={"school_attendance": 3}),
        ],
    )
    assert errors["members.1.role"] == ["A household has one head: Awa Diallo is already marked as head."]
    assert errors["members.1.is_primary_recipient"] == [
        "A household has one primary recipient: Awa Diallo is already marked."
    ]
    assert errors["members.2.documents"] == [f"Passport P9 is already used by {holder} (id {holder.pk})."]
    assert errors["members.4.documents"] == ["National ID N1 is also given in row 4."]
    assert errors["members.5.individual"][0].startswith(
        f"{member_elsewhere} is already a member of household"
    )
    assert errors["members.6.birth_date"] == ["The birth date is in the future."]
    assert errors["members.6.data.school_attendance"] == ["Must be at most 1."]
    assert Individual.objects.count() == 2 and Household.objects.count() == 1


def test_no_head_is_refused_for_the_household(maker, tree) -> None:
    errors = refusal(user=maker, code="HH-3", location=tree.north_a, members=[person("Awa", "child")])
    assert errors == {"members": ["Mark one member as the head of the household."]}


def test_outside_the_users_locations_is_refused(maker, tree) -> None:
    errors = refusal(user=maker, code="HH-4", location=tree.south, members=[person("Awa", "head")])
    assert "outside your locations" in " ".join(errors.get("members.0", []) + errors.get("location", []))
    assert not Individual.objects.exists()


def test_an_edit_is_one_task_applied_in_one_transaction(maker, checker, tree) -> None:
    household = household_register(
        user=maker,
        code="HH-5",
        location=tree.north_a,
        members=[person("Awa", "head"), person("Binta", "child")],
    )
    awa, binta = (m for m in HouseholdMember.objects.filter(household=household).order_by("pk"))
    task = household_change_request(
        household=household,
        maker=maker,
        fields={"address": "Rue 1"},
        members=[
            MemberEntry(role="head", membership=awa, person={"given_name": "Awa", "family_name": "Sow",
                        "sex": "F", "birth_date": date(1990, 1, 1)}, documents=[("national_id", "S1")]),
            MemberEntry(role="child", membership=binta, leaves=True),
            person("Coumba", "child", primary=True),
        ],
    )  # fmt: skip
    assert task.state == "pending" and Individual.objects.count() == 2
    task_approve(task=task, user=checker)
    awa.individual.refresh_from_db()
    assert awa.individual.family_name == "Sow" and awa.individual.documents.get().value == "S1"
    household.refresh_from_db()
    assert household.size == 2 and household.address == "Rue 1"
    assert HouseholdMember.objects.get(individual__given_name="Coumba").is_primary_recipient


def test_an_edit_refused_by_the_executor_names_the_row_and_leaves_nothing(
    maker, tree, make_individual
) -> None:
    holder = make_individual(tree.north_a, documents=[("passport", "P1")])
    household = household_register(
        user=maker, code="HH-6", location=tree.north_a, members=[person("Awa", "head")]
    )
    awa = HouseholdMember.objects.get(household=household)
    with pytest.raises(ValidationError) as caught:
        household_change_request(
            household=household,
            maker=maker,
            members=[
                MemberEntry(role="head", membership=awa),
                person("Binta", "child", documents=[("passport", "P1")]),
            ],
        )
    assert caught.value.message_dict == {
        "members.1.documents": [f"Passport P1 is already used by {holder} (id {holder.pk})."]
    }
    assert not Task.objects.exists() and Individual.objects.count() == 2


def test_without_an_approval_level_the_edit_is_applied_at_once(maker, tree) -> None:
    ApprovalPolicy.objects.get_or_create(action="registry.update")[0].levels.all().delete()
    household = household_register(
        user=maker, code="HH-7", location=tree.north_a, members=[person("Awa", "head")]
    )
    awa = HouseholdMember.objects.get(household=household)
    task = household_change_request(
        household=household,
        maker=maker,
        members=[MemberEntry(role="head", membership=awa), person("Binta", "spouse")],
    )
    assert task.state == "executed"
    household.refresh_from_db()
    assert household.size == 2
