"""Forged POSTs (django-fsm's admin path, the decision endpoints) change nothing for the wrong people."""

from __future__ import annotations

import pytest
from django.test import Client

from approvals.models import Approval, Task, TaskState
from approvals.services import approval_request
from registry.models import Location
from tests.approvals.actions import RENAME, executions

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(tree, maker) -> Task:
    return approval_request(action=RENAME, target=tree.north_a, payload={"name": "Forged"}, maker=maker)


def assert_nothing_changed(task: Task) -> None:
    fresh = Task.objects.get(pk=task.pk)
    assert (fresh.state, fresh.current_level) == (TaskState.PENDING, 1)
    assert not Approval.objects.filter(task=task).exists()
    assert Location.objects.get(pk=task.object_id).name == "North A"
    assert executions == []


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("who", ["maker", "outsider", "checker"])
def test_fsm_admin_transition_post_on_the_change_form_is_refused(client, task, request, who):
    client.force_login(request.getfixturevalue(who))
    for transition in ("approve", "finish", "advance"):
        response = client.post(
            f"/admin/approvals/task/{task.pk}/change/",
            {"_fsm_transition_to": transition, "state": "executed"},
        )
        assert response.status_code == 403
        response = client.post(f"/admin/approvals/task/{task.pk}/transition/{transition}/", {})
        assert response.status_code in (302, 404)
    assert_nothing_changed(task)


def test_the_maker_forging_the_approve_endpoint_is_refused(client, task, maker):
    client.force_login(maker)
    response = client.post(f"/admin/approvals/task/{task.pk}/approve/", {"comment": "mine"}, follow=True)
    assert "its maker cannot approve" in " ".join(messages_of(response))
    response = client.post(f"/admin/approvals/task/{task.pk}/reject/", {"comment": "mine"}, follow=True)
    assert "its maker cannot approve or reject" in " ".join(messages_of(response))
    assert_nothing_changed(task)


def test_a_user_without_the_role_forging_the_endpoints_is_refused(client, task, outsider):
    client.force_login(outsider)
    response = client.post(f"/admin/approvals/task/{task.pk}/approve/", follow=True)
    assert "which you do not hold" in " ".join(messages_of(response))
    response = client.post(f"/admin/approvals/task/{task.pk}/retry/", follow=True)
    assert "only a failed task can be retried" in " ".join(messages_of(response))
    response = client.post(f"/admin/approvals/task/{task.pk}/cancel/", follow=True)
    assert "Only the maker" in " ".join(messages_of(response))
    assert_nothing_changed(task)


def test_an_approver_outside_the_scope_does_not_even_find_the_task(client, task, south_checker):
    client.force_login(south_checker)
    assert client.post(f"/admin/approvals/task/{task.pk}/approve/").status_code == 404
    assert client.get(f"/admin/approvals/task/{task.pk}/change/").status_code == 404
    assert_nothing_changed(task)


def test_anonymous_and_get_and_missing_csrf_are_refused(task, checker):
    anonymous = Client()
    response = anonymous.post(f"/admin/approvals/task/{task.pk}/approve/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(checker)
    assert strict.post(f"/admin/approvals/task/{task.pk}/approve/").status_code == 403
    assert strict.get(f"/admin/approvals/task/{task.pk}/approve/").status_code == 405
    assert_nothing_changed(task)


def test_tasks_cannot_be_added_or_deleted_in_the_admin(client, task, administrator):
    client.force_login(administrator)
    assert client.get("/admin/approvals/task/add/").status_code == 403
    assert client.post(f"/admin/approvals/task/{task.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        "/admin/approvals/task/", {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes"}
    )
    assert Task.objects.filter(pk=task.pk).exists()
    assert response.status_code in (200, 302)
    assert_nothing_changed(task)


def test_an_approver_cannot_waive_approval_by_editing_the_policy(client, checker):
    from approvals.models import ApprovalPolicy

    policy = ApprovalPolicy.objects.get(action="registry.update")
    client.force_login(checker)
    assert (
        client.get(f"/admin/approvals/approvalpolicy/{policy.pk}/change/").status_code == 200
    )  # may read it
    form = {
        "action": "registry.update",
        "requires_approval": "",
        "notes": "",
        "levels-TOTAL_FORMS": "0",
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
    }
    assert client.post(f"/admin/approvals/approvalpolicy/{policy.pk}/change/", form).status_code == 403
    assert client.post("/admin/approvals/approvalpolicy/add/", {**form, "action": "x.y"}).status_code == 403
    assert ApprovalPolicy.objects.get(pk=policy.pk).requires_approval is True
    assert not ApprovalPolicy.objects.filter(action="x.y").exists()
