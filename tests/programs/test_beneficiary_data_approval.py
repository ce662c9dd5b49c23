"""A beneficiary's plan data changes only through maker-checker (`programs.beneficiary_data`): the admin form
requests, the checker sees each field before and after, only a checker who may see the beneficiary decides."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from access.roles import APPROVER
from approvals.models import Task, TaskState
from approvals.selectors import tasks_awaiting
from approvals.services import task_approve
from programs.models import Beneficiary, PlanStatus
from programs.services import DATA_ACTION, beneficiary_data_request
from tests.conftest import make_user
from tests.programs.conftest import approve, grant

SCHEMA = {
    "type": "object",
    "properties": {
        "grade": {"type": "integer", "minimum": 1, "maximum": 12, "title": "School grade"},
        "school": {"type": "string", "title": "School name"},
    },
    "required": [],
}


@pytest.fixture
def plan(household_plan):
    household_plan.beneficiary_schema = SCHEMA
    household_plan.save()
    return household_plan


def enrol(plan, household) -> Beneficiary:
    now = timezone.now()
    return Beneficiary.objects.create(
        benefit_plan=plan,
        household=household,
        location=household.location,
        status_changed_at=now,
        enrolled_at=now,
        data={"grade": 3, "school": "Hill"},
    )


@pytest.fixture
def north_row(plan, registry) -> Beneficiary:
    return enrol(plan, registry.north_households[0])


@pytest.fixture
def south_row(plan, registry) -> Beneficiary:
    return enrol(plan, registry.south_households[0])


def change_form_post(client, row: Beneficiary, data: dict, follow: bool = True, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("admin:programs_beneficiary_change", args=[row.pk]),
        {
            "data": json.dumps(data),
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
            **extra,
        },
        follow=follow,
    )


def test_the_change_form_requests_instead_of_saving(client, officer, approver, north_row):
    client.force_login(officer)
    response = change_form_post(client, north_row, {"grade": 4, "school": "Hill"})
    assert response.status_code == 200
    assert any("waits for approval" in str(m) for m in response.context["messages"])
    north_row.refresh_from_db()
    assert north_row.data == {"grade": 3, "school": "Hill"}  # nothing saved yet

    task = Task.objects.get(action=DATA_ACTION)
    assert (task.object_id, task.maker_id, task.state) == (north_row.pk, officer.pk, TaskState.PENDING)
    assert task.payload["data"] == {"grade": {"before": 3, "after": 4}}
    assert task.description["requested"]["changes"] == [["School grade", "3", "4"]]

    approve(task, approver)
    north_row.refresh_from_db()
    assert north_row.data == {"grade": 4, "school": "Hill"}
    record = north_row.history.first()  # on the audit trail, with the task (its maker and approvers)
    assert record.data == {"grade": 4, "school": "Hill"}
    assert record.history_change_reason == f"{DATA_ACTION}, task #{task.pk}"


def test_the_checker_sees_before_and_after_on_the_task_page(client, officer, approver, north_row):
    task = beneficiary_data_request(
        user=officer, beneficiary=north_row, data={"grade": 3, "school": "Valley"}, reason="moved"
    )
    client.force_login(approver)
    page = client.get(reverse("admin:approvals_task_change", args=[task.pk])).content.decode()
    assert "School name" in page and "Hill" in page and "Valley" in page
    assert task in tasks_awaiting(approver)


def test_a_removed_value_reads_as_empty(officer, north_row):
    task = beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 3})
    assert task.payload["data"] == {"school": {"before": "Hill", "after": None}}
    assert task.description["requested"]["changes"] == [["School name", "Hill", "—"]]


def test_a_forged_post_of_other_fields_changes_nothing(client, officer, north_row, plan):
    client.force_login(officer)
    change_form_post(
        client,
        north_row,
        {"grade": 3, "school": "Hill"},
        status="active",
        benefit_plan=str(plan.pk),
        location="",
        enrolled_at="2000-01-01 00:00:00",
    )
    north_row.refresh_from_db()
    assert north_row.status == "potential" and north_row.data == {"grade": 3, "school": "Hill"}
    assert not Task.objects.exists()


def test_nothing_changed_means_no_task(client, officer, north_row):
    client.force_login(officer)
    response = change_form_post(client, north_row, {"school": "Hill", "grade": 3})
    assert any("Nothing was changed" in str(m) for m in response.context["messages"])
    assert not Task.objects.exists()


def test_invalid_data_is_refused_when_requested_with_the_field(client, officer, north_row):
    client.force_login(officer)
    response = change_form_post(client, north_row, {"grade": 14, "school": "Hill"})
    assert response.context["adminform"].form.errors["data"] == ["/grade: Must be at most 12."]
    with pytest.raises(ValidationError, match="not a data field of plan CASH"):
        beneficiary_data_request(user=officer, beneficiary=north_row, data={"colour": "red"})
    assert not Task.objects.exists()


def test_an_officer_outside_the_plan_or_the_locations_cannot_request(client, maker, officer, plan, south_row):
    with pytest.raises(ValidationError, match="outside your locations"):
        beneficiary_data_request(user=officer, beneficiary=south_row, data={"grade": 5})
    stranger = make_user("stranger", roles=("Programme officer",), locations=(south_row.location,))
    grant(stranger, plan, "view_benefitplan")  # sees the plan, does not manage it
    with pytest.raises(ValidationError, match="may not manage"):
        beneficiary_data_request(user=stranger, beneficiary=south_row, data={"grade": 5})
    client.force_login(stranger)
    change_form_post(client, south_row, {"grade": 5})
    client.force_login(officer)
    refused = change_form_post(client, south_row, {"grade": 5}, follow=False)  # not in their list
    assert refused.status_code == 302 and refused["Location"] == reverse("admin:index")
    south_row.refresh_from_db()
    assert south_row.data == {"grade": 3, "school": "Hill"}
    assert not Task.objects.exists()


def test_only_a_checker_who_sees_the_beneficiary_decides(officer, approver, north_row, tree):
    task = beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 5, "school": "Hill"})
    south_checker = make_user("south_checker", roles=(APPROVER,), locations=(tree.south,))
    assert task not in tasks_awaiting(south_checker)
    with pytest.raises(ValidationError, match="outside what you can see"):
        task_approve(task=task, user=south_checker)
    with pytest.raises(ValidationError, match="maker cannot approve"):
        task_approve(task=task, user=officer)
    north_row.refresh_from_db()
    assert north_row.data["grade"] == 3
    assert approve(task, approver).state == TaskState.EXECUTED


def test_a_change_made_meanwhile_fails_the_task(officer, approver, north_row):
    task = beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 5, "school": "Hill"})
    Beneficiary.objects.filter(pk=north_row.pk).update(data={"grade": 7, "school": "Hill"})
    task = approve(task, approver)
    assert task.state == TaskState.FAILED and "School grade" not in task.error
    assert "grade now reads 7" in task.error
    north_row.refresh_from_db()
    assert north_row.data["grade"] == 7


def test_a_closed_plan_refuses_at_request_and_at_execution(officer, approver, north_row, plan):
    task = beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 5, "school": "Hill"})
    plan.status = PlanStatus.CLOSED
    plan.save()
    assert approve(task, approver).state == TaskState.FAILED
    with pytest.raises(ValidationError, match="is closed"):
        beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 6})
    north_row.refresh_from_db()
    assert north_row.data["grade"] == 3


def test_a_second_request_waits_for_the_first(officer, north_row):
    beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 5, "school": "Hill"})
    with pytest.raises(ValidationError):
        beneficiary_data_request(user=officer, beneficiary=north_row, data={"grade": 6, "school": "Hill"})
    assert Task.objects.filter(action=DATA_ACTION).count() == 1
