"""Audit: who asked, who approved, when, and what changed, from the history an auditor can read."""

from __future__ import annotations

import pytest

from access.roles import APPROVER
from approvals.models import Approval, ApprovalPolicy, Task, TaskState
from approvals.services import approval_request, task_approve, task_reject
from registry.models import Location
from tests.approvals.actions import RENAME
from tests.approvals.conftest import policy_set

pytestmark = pytest.mark.django_db


def test_every_task_change_and_decision_is_on_the_history(tree, maker, checker):
    task = approval_request(
        action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker, reason="Typo"
    )
    task = task_approve(task=task, user=checker)
    states = list(Task.history.filter(id=task.pk).order_by("history_date").values_list("state", flat=True))
    assert states[0] == TaskState.PENDING
    assert states[-1] == TaskState.EXECUTED
    assert TaskState.APPROVED in states
    approval = Approval.objects.get(task=task)
    record = Approval.history.get(id=approval.pk)
    assert (record.user_id, record.decision, record.level, record.history_type) == (
        checker.pk,
        "approve",
        1,
        "+",
    )
    # The change itself is on the target's own history.
    assert Location.history.filter(id=tree.north_a.pk).latest("history_date").name == "Nord A"


def test_policy_and_level_edits_are_on_the_history(db):
    policy = policy_set(RENAME, (APPROVER, 1, None))
    policy.requires_approval = False
    policy.save()
    assert ApprovalPolicy.history.filter(id=policy.pk).count() == 2
    assert policy.levels.model.history.filter(policy_id=policy.pk).count() == 1


def test_an_auditor_answers_who_asked_who_approved_when_and_what_changed(
    client, tree, maker, checker, auditor
):
    task = approval_request(
        action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker, reason="Typo"
    )
    task_approve(task=task, user=checker, comment="Checked the census")
    other = approval_request(action=RENAME, target=tree.north_b, payload={"name": "Nord B"}, maker=maker)
    task_reject(task=other, user=checker, comment="No source")

    client.force_login(auditor)
    listing = client.get("/admin/approvals/task/")
    assert {t.pk for t in listing.context["cl"].result_list} == {task.pk, other.pk}
    html = client.get(f"/admin/approvals/task/{task.pk}/change/").content.decode()
    assert "maker" in html and "Typo" in html  # who asked, why
    assert "checker" in html and "Checked the census" in html  # who approved, with what comment
    assert "Executed" in html and task.created_at.strftime("%Y-%m-%d") in html  # what happened, when
    assert 'class="after">Nord A<' in html  # what changed
    assert 'id="task-approve"' not in html  # an auditor only reads
    history = client.get(f"/admin/approvals/task/{task.pk}/history/")
    assert history.status_code == 200
    assert len(history.context["page_obj"].object_list) >= 3  # requested, approved, executed
    # Forging the approve endpoint as an auditor does nothing either.
    client.post(f"/admin/approvals/task/{other.pk}/approve/")
    assert Task.objects.get(pk=other.pk).state == TaskState.REJECTED


def test_a_decided_task_shows_the_change_as_it_was_not_as_the_record_reads_today(
    client, tree, maker, checker, auditor
):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker)
    task = task_approve(task=task, user=checker)
    assert task.description["requested"]["changes"] == [["Name", "North A", "Nord A"]]
    assert task.description["executed"]["changes"] == [["Name", "North A", "Nord A"]]
    Location.objects.filter(pk=tree.north_a.pk).update(name="Renamed again later")
    client.force_login(auditor)
    html = client.get(f"/admin/approvals/task/{task.pk}/change/").content.decode()
    assert 'class="before">North A<' in html and 'class="after">Nord A<' in html
    assert "as it was when executed" in html
    changes = html[html.index('id="task-changes"') : html.index("</table>", html.index('id="task-changes"'))]
    assert "Renamed again later" not in changes
