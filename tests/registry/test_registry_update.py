"""Maker-checker for registry edits: the change waits, the checker sees before/after, approval applies it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalPolicy, Task
from approvals.services import task_approve
from registry.approval_actions import registry_update_describe, registry_update_request
from registry.models import HouseholdMember, Individual
from registry.services import individual_update

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_form(person: Individual, **extra) -> dict[str, str]:
    data = {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "other_names": person.other_names,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "phone": person.phone,
        "location": str(person.location_id),
        "registration_date": person.registration_date.isoformat(),
        "status": person.status,
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
        "data__education": person.data.get("education", ""),
        "data__disability": "unknown",
        "data__occupation": "",
        "data__chronic_illness": "unknown",
        "data__school_attendance": "",
    }
    documents = list(person.documents.order_by("pk"))
    data["documents-TOTAL_FORMS"] = data["documents-INITIAL_FORMS"] = str(len(documents))
    for index, document in enumerate(documents):
        data[f"documents-{index}-id"] = str(document.pk)
        data[f"documents-{index}-individual"] = str(person.pk)
        data[f"documents-{index}-doc_type"] = document.doc_type
        data[f"documents-{index}-value"] = document.value
    data.update(extra)
    return data


@pytest.fixture
def person(tree, make_individual) -> Individual:
    person = make_individual(
        tree.north_a,
        given_name="Amina",
        family_name="Okafor",
        phone="+1",
        data={"education": "primary"},
        documents=[("national_id", "NI-1")],
    )
    # A value of a field since removed from the schema.
    Individual.objects.filter(pk=person.pk).update(data={"education": "primary", "old_key": 5})
    person.refresh_from_db()
    return person


def test_an_admin_edit_waits_for_approval_and_is_applied_on_approval(maker, checker, person) -> None:
    url = reverse("admin:registry_individual_change", args=[person.pk])
    response = client_for(maker).post(
        url,
        change_form(person, phone="+2", data__education="secondary", **{"documents-0-value": "NI-2"}),
        follow=True,
    )
    task = Task.objects.get(action="registry.update")
    assert f"Your change is waiting for approval (task #{task.pk})." in [
        str(m) for m in response.context["messages"]
    ]
    person.refresh_from_db()
    assert person.phone == "+1" and person.data["education"] == "primary"
    assert list(person.documents.values_list("value", flat=True)) == ["NI-1"]

    description = registry_update_describe(target=person, payload=task.payload)
    assert ("Phone", "+1", "+2") in description.changes
    assert ("Education", "primary", "secondary") in description.changes
    assert ("Identity documents", "National ID NI-1", "National ID NI-2") in description.changes

    task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == "executed", task.error
    person.refresh_from_db()
    assert person.phone == "+2"
    assert person.data == {"education": "secondary", "old_key": 5}  # the key no longer in the schema is kept
    assert list(person.documents.values_list("value", flat=True)) == ["NI-2"]


def test_without_a_policy_level_the_edit_is_saved_at_once(maker, person) -> None:
    ApprovalPolicy.objects.filter(action="registry.update").update(requires_approval=False)
    ApprovalPolicy.objects.get(action="registry.update").levels.all().delete()
    url = reverse("admin:registry_individual_change", args=[person.pk])
    response = client_for(maker).post(url, change_form(person, phone="+9"), follow=True)
    assert any("was saved" in str(m) for m in response.context["messages"])
    person.refresh_from_db()
    assert person.phone == "+9"
    assert Task.objects.get().state == "executed"


def test_a_second_request_while_one_is_open_is_refused(maker, person) -> None:
    registry_update_request(target=person, maker=maker, fields={"phone": "+3"})
    with pytest.raises(ValidationError) as error:
        registry_update_request(target=person, maker=maker, fields={"phone": "+4"})
    assert "task #" in str(error.value).lower() or "open" in str(error.value).lower()
    response = client_for(maker).post(
        reverse("admin:registry_individual_change", args=[person.pk]),
        change_form(person, phone="+5"),
        follow=True,
    )
    assert response.status_code == 200
    assert Task.objects.count() == 1


def test_nothing_changed_makes_no_task(maker, person) -> None:
    assert (
        registry_update_request(target=person, maker=maker, fields={"phone": "+1"}, data=dict(person.data))
        is None
    )
    response = client_for(maker).post(
        reverse("admin:registry_individual_change", args=[person.pk]), change_form(person), follow=True
    )
    assert "Nothing was changed." in [str(m) for m in response.context["messages"]]
    assert not Task.objects.exists()


def test_the_executor_fails_cleanly_when_the_record_changed_meanwhile(maker, checker, person) -> None:
    task = registry_update_request(target=person, maker=maker, fields={"phone": "+2"})
    individual_update(individual=person, phone="+7")
    task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == "failed"
    assert "Phone now reads +7" in task.error
    person.refresh_from_db()
    assert person.phone == "+7"


def test_the_executor_revalidates_documents(maker, checker, person, make_individual, tree) -> None:
    task = registry_update_request(
        target=person, maker=maker, documents=[("national_id", "NI-1"), ("passport", "P-1")]
    )
    make_individual(tree.north_b, given_name="Other", family_name="Person", documents=[("passport", "P-1")])
    task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == "failed" and "Passport P-1 is already used by Other Person" in task.error
    assert list(person.documents.values_list("value", flat=True)) == ["NI-1"]


def test_a_household_edit_with_members_goes_through_approval(
    maker, checker, tree, make_household, make_individual
) -> None:
    household = make_household(tree.north_a, members=2)
    head = household.memberships.get(role="head")
    child = household.memberships.get(role="child")
    newcomer = make_individual(tree.north_a, given_name="Kofi", family_name="Mensah")
    task = registry_update_request(
        target=household,
        maker=maker,
        fields={"address": "Road 2"},
        data={"has_electricity": True},
        members={
            "remove": [],
            "change": [(head, "spouse", True), (child, "head", False)],
            "add": [(newcomer, "child", False)],
        },
    )
    description = registry_update_describe(target=household, payload=task.payload)
    assert ("Address", "—", "Road 2") in description.changes
    assert ("Has electricity", "—", "Yes") in description.changes
    assert ("Member Kofi Mensah", "not a member", "Child") in description.changes
    task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == "executed", task.error
    household.refresh_from_db()
    assert household.address == "Road 2" and household.size == 3
    assert HouseholdMember.objects.get(pk=child.pk).role == "head"
    assert HouseholdMember.objects.get(pk=head.pk).role == "spouse"


def test_a_checker_elsewhere_cannot_see_the_target(south_officer, person) -> None:
    with pytest.raises(ValidationError):
        registry_update_request(target=person, maker=south_officer, fields={"phone": "+8"})


def test_an_officer_may_ask_to_remove_a_document(maker, checker, person) -> None:
    url = reverse("admin:registry_individual_change", args=[person.pk])
    client_for(maker).post(url, change_form(person, **{"documents-0-DELETE": "on"}), follow=True)
    task = Task.objects.get()
    assert ("Identity documents", "National ID NI-1", "—") in registry_update_describe(
        target=person, payload=task.payload
    ).changes
    assert person.documents.count() == 1
    task_approve(task=task, user=checker)
    assert person.documents.count() == 0


def test_the_checker_sees_before_and_after_on_the_task_page(maker, checker, person) -> None:
    task = registry_update_request(target=person, maker=maker, fields={"phone": "+2", "status": "moved"})
    page = client_for(checker).get(reverse("admin:approvals_task_change", args=[task.pk])).content.decode()
    for text in ("Phone", "+1", "+2", "Status", "Active", "Moved away"):
        assert text in page


def test_the_approval_lists_are_scoped_to_the_checkers_locations(
    maker, checker, tree, person, make_individual
) -> None:
    from approvals.selectors import tasks_awaiting
    from tests.conftest import make_user

    south_person = make_individual(tree.south)
    south_maker = make_user("south_maker", roles=("Registry officer",), locations=(tree.south,))
    north_task = registry_update_request(target=person, maker=maker, fields={"phone": "+2"})
    registry_update_request(target=south_person, maker=south_maker, fields={"phone": "+3"})
    assert list(tasks_awaiting(checker)) == [north_task]


def test_my_approvals_checks_registry_edits_in_sql_whatever_their_number(
    maker, checker, tree, make_individual, django_assert_max_num_queries
) -> None:
    """The awaiting list filters registry edits in SQL (no per-task lookups): same queries for 2 or 8 tasks."""
    from approvals.selectors import tasks_awaiting
    from tests.conftest import make_user

    south_maker = make_user("south_maker2", roles=("Registry officer",), locations=(tree.south,))
    hidden = registry_update_request(
        target=make_individual(tree.south), maker=south_maker, fields={"phone": "+9"}
    )

    def awaiting_ids() -> set[int]:
        return {task.pk for task in tasks_awaiting(checker)}

    shown = {
        registry_update_request(target=make_individual(tree.north), maker=maker, fields={"phone": "+1"}).pk
        for _ in range(2)
    }
    with django_assert_max_num_queries(6) as few:
        assert awaiting_ids() == shown
    shown |= {
        registry_update_request(target=make_individual(tree.north), maker=maker, fields={"phone": "+1"}).pk
        for _ in range(6)
    }
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert awaiting_ids() == shown
    assert hidden.pk not in shown
