"""Bulk "approve selected": a confirmation page, then each task through the service, refusals reported."""

from __future__ import annotations

import pytest

from approvals.models import Approval, Task, TaskState
from approvals.services import approval_request
from registry.models import Location
from tests.approvals.actions import RENAME, executions

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(tree, maker, south_officer) -> list[Task]:
    villages = [
        Location.objects.create(code=f"N-V-{n}", name=f"Village {n}", parent=tree.north) for n in range(3)
    ]
    north = [
        approval_request(action=RENAME, target=v, payload={"name": f"Town {n}"}, maker=maker)
        for n, v in enumerate(villages)
    ]
    south = approval_request(action=RENAME, target=tree.south, payload={"name": "Sud"}, maker=south_officer)
    return [*north, south]


def post_action(client, pks: list[int], **extra):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/approvals/task/", {"action": "approve_selected", "_selected_action": pks, **extra}
    )


def test_bulk_approve_asks_for_confirmation_and_changes_nothing_until_confirmed(client, tasks, checker):
    client.force_login(checker)
    north = [t.pk for t in tasks[:3]]
    response = post_action(client, north)
    assert response.status_code == 200
    assert response.templates[0].name == "approvals/approve_selected_confirmation.html"
    html = response.content.decode()
    assert "approve 3 of the 3 selected" in html
    assert all(f'name="_selected_action" value="{pk}"' in html for pk in north)
    assert not Approval.objects.exists() and executions == []

    response = post_action(client, north, post="yes", comment="Batch checked")
    assert response.status_code == 302
    assert set(Task.objects.filter(pk__in=north).values_list("state", flat=True)) == {TaskState.EXECUTED}
    assert sorted(Location.objects.filter(code__startswith="N-V-").values_list("name", flat=True)) == [
        "Town 0",
        "Town 1",
        "Town 2",
    ]
    assert set(Approval.objects.values_list("comment", flat=True)) == {"Batch checked"}


def test_bulk_approve_only_reaches_tasks_the_user_may_approve(client, tasks, checker, maker):
    client.force_login(checker)
    post_action(client, [t.pk for t in tasks], post="yes")
    assert (
        Task.objects.get(pk=tasks[3].pk).state == TaskState.PENDING
    )  # out of the checker's scope: not even selected
    assert Task.objects.filter(state=TaskState.EXECUTED).count() == 3

    client.force_login(maker)  # no approving role: the action is not even offered
    response = post_action(client, [tasks[3].pk], post="yes")
    assert Task.objects.get(pk=tasks[3].pk).state == TaskState.PENDING
    assert response.status_code in (200, 302)
    assert "approve_selected" not in client.get("/admin/approvals/task/").content.decode()


def test_bulk_approve_reports_refusals_by_task(client, tree, tasks, checker):
    from access.roles import APPROVER
    from tests.conftest import make_user

    both = make_user("both", roles=(APPROVER, "Registry officer"), locations=(tree.north,))
    own = approval_request(
        action=RENAME,
        target=Location.objects.create(code="N-Z", name="Zed", parent=tree.north),
        payload={"name": "Zee"},
        maker=both,
    )
    client.force_login(both)
    confirmation = post_action(client, [tasks[0].pk, own.pk]).content.decode()
    assert "approve 1 of the 2 selected" in confirmation and "its maker cannot approve" in confirmation
    response = post_action(client, [tasks[0].pk, own.pk], post="yes")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert f"Approved 1 task(s): #{tasks[0].pk}." in messages
    assert any(f"You requested task #{own.pk}" in m for m in messages)
    assert Task.objects.get(pk=own.pk).state == TaskState.PENDING
