"""Admin screens: my approvals and its count, my requests, all tasks, the task page, decisions through it."""

from __future__ import annotations

import re

import pytest

from approvals.models import ApprovalPolicy, Task, TaskState
from approvals.services import approval_request, task_approve
from registry.models import Location
from tests.approvals.actions import BULK, RENAME, RENAME_CAN_VIEW
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def many_tasks(tree, maker, count: int, prefix: str = "X") -> list[Task]:
    tasks = []
    for n in range(count):
        location = Location.objects.create(
            code=f"N-{prefix}-{n}", name=f"Village {prefix}{n}", parent=tree.north
        )
        action = RENAME if n % 2 else RENAME_CAN_VIEW
        tasks.append(approval_request(action=action, target=location, payload={"name": f"V{n}"}, maker=maker))
    return tasks


def header_count(response) -> int:  # type: ignore[no-untyped-def]
    match = re.search(rb'id="approvals-waiting-count">(\d+)<', response.content)
    assert match, "the header shows no approvals count"
    return int(match.group(1))


def test_my_approvals_lists_what_i_can_approve_with_the_count_in_the_header(
    client, tree, maker, checker, south_checker
):
    tasks = many_tasks(tree, maker, 3)
    client.force_login(checker)
    response = client.get("/admin/approvals/task/my-approvals/", follow=True)
    assert response.status_code == 200
    assert {t.pk for t in response.context["cl"].result_list} == {t.pk for t in tasks}
    assert header_count(response) == 3
    task_approve(task=tasks[0], user=checker)
    assert header_count(client.get("/admin/")) == 2

    client.force_login(south_checker)
    response = client.get("/admin/approvals/task/my-approvals/", follow=True)
    assert list(response.context["cl"].result_list) == []
    assert header_count(response) == 0


def test_my_requests_lists_the_makers_tasks(client, tree, maker, south_officer):
    tasks = many_tasks(tree, maker, 2)
    approval_request(action=RENAME, target=tree.south, payload={"name": "Sud"}, maker=south_officer)
    client.force_login(maker)
    response = client.get("/admin/approvals/task/my-requests/", follow=True)
    assert {t.pk for t in response.context["cl"].result_list} == {t.pk for t in tasks}


def test_all_tasks_filter_by_action_state_maker_and_date(
    client, tree, maker, administrator, checker, south_officer
):
    tasks = many_tasks(tree, maker, 4)
    task_approve(task=tasks[1], user=checker)
    southern = approval_request(
        action=RENAME, target=tree.south, payload={"name": "Sud"}, maker=south_officer
    )
    client.force_login(administrator)
    listing = client.get("/admin/approvals/task/")
    assert listing.status_code == 200
    assert {f.title for f in listing.context["cl"].filter_specs} >= {"action", "state", "maker", "created at"}

    def pks(query: str) -> set[int]:
        return {t.pk for t in client.get(f"/admin/approvals/task/?{query}").context["cl"].result_list}

    assert pks(f"action={RENAME}") == {tasks[1].pk, tasks[3].pk, southern.pk}
    assert pks("state__exact=executed") == {tasks[1].pk}
    assert pks(f"maker={maker.pk}") == {t.pk for t in tasks}
    assert pks(f"maker={south_officer.pk}") == {southern.pk}
    assert pks("created_at__gte=2000-01-01T00:00:00%2B00:00") == {t.pk for t in tasks} | {southern.pk}
    assert pks("created_at__gte=2999-01-01T00:00:00%2B00:00") == set()


def test_changelist_queries_do_not_grow_with_the_number_of_tasks(
    client, tree, maker, checker, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(checker)
    client.get("/admin/approvals/task/?mine=awaiting")  # the sidebar is kept from the first page on
    counts = []
    for batch, prefix in ((3, "X"), (27, "Y")):
        many_tasks(tree, maker, batch, prefix)
        with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(30):
            response = client.get("/admin/approvals/task/?mine=awaiting")
        counts.append(len(queries))
    assert len(response.context["cl"].result_list) == 30
    assert counts[0] == counts[1], counts


def test_task_page_shows_the_change_the_levels_and_decision_buttons(client, tree, maker, checker):
    task = approval_request(
        action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker, reason="Spelling"
    )
    client.force_login(checker)
    response = client.get(f"/admin/approvals/task/{task.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"<td>Name</td><td class=\"before\">North A</td><td class=\"after\">Nord A</td>", html)
    assert "Spelling" in html and "Pending approval" in html
    assert 'id="task-approve"' in html and 'id="task-reject"' in html
    assert 'id="task-cancel"' not in html
    assert "<script>" not in html  # strict CSP: no inline script

    client.force_login(maker)
    html = client.get(f"/admin/approvals/task/{task.pk}/change/").content.decode()
    assert 'id="task-approve"' not in html and 'id="task-cancel"' in html
    assert "its maker cannot approve" in html


def test_approving_through_the_page_applies_the_change(client, tree, maker, checker):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker)
    client.force_login(checker)
    response = client.post(f"/admin/approvals/task/{task.pk}/approve/", {"comment": "ok"}, follow=True)
    assert f"Task #{task.pk} was approved and executed." in [str(m) for m in response.context["messages"]]
    assert Location.objects.get(pk=tree.north_a.pk).name == "Nord A"
    # The target's own history says who made the change effective.
    assert Location.history.filter(id=tree.north_a.pk).latest("history_date").history_user == checker
    html = response.content.decode()
    assert "Executed" in html and "checker" in html and ">ok<" in html


def test_reject_through_the_page_needs_a_comment(client, tree, maker, checker):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "Nord A"}, maker=maker)
    client.force_login(checker)
    response = client.post(f"/admin/approvals/task/{task.pk}/reject/", {"comment": ""}, follow=True)
    assert "a comment is required" in " ".join(str(m) for m in response.context["messages"])
    assert Task.objects.get(pk=task.pk).state == TaskState.PENDING
    client.post(f"/admin/approvals/task/{task.pk}/reject/", {"comment": "Not needed"})
    assert Task.objects.get(pk=task.pk).state == TaskState.REJECTED


def test_failed_task_page_shows_the_reason_and_a_retry_button(client, tree, maker, checker, checker2):
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "North B"}, maker=maker)
    task_approve(task=task, user=checker)
    client.force_login(checker2)
    html = client.get(f"/admin/approvals/task/{task.pk}/change/").content.decode()
    assert "Another location is already called North B." in html and 'id="task-retry"' in html
    Location.objects.filter(pk=tree.north_b.pk).update(name="Old B")
    client.post(f"/admin/approvals/task/{task.pk}/retry/", {"comment": "fixed"})
    assert Task.objects.get(pk=task.pk).state == TaskState.EXECUTED


@pytest.mark.django_db(transaction=True)
def test_background_task_page_follows_the_job(client, tree, maker, checker):
    Location.objects.create(code="N-A-1", name="child", parent=tree.north_a)
    task = approval_request(action=BULK, target=tree.north_a, payload={}, maker=maker)
    client.force_login(maker)
    html = client.get(f"/admin/approvals/task/{task.pk}/change/").content.decode()
    assert 'id="task-count">1<' in html and 'id="task-total">12.50<' in html
    task = task_approve(task=task, user=checker)
    html = client.get(f"/admin/approvals/task/{task.pk}/change/").content.decode()
    assert f'data-progress-url="/admin/approvals/task/{task.pk}/progress.json"' in html
    assert f'data-job-progress="{task.job_id}"' in html
    assert "jobs/progress.js" in html and "Executing" in html
    # The maker follows the job the checker started; someone outside the scope does not.
    progress = client.get(f"/admin/approvals/task/{task.pk}/progress.json").json()
    assert (progress["id"], progress["state"], progress["task_state"]) == (task.job_id, "queued", "executing")
    client.force_login(make_user("far_south", roles=("Approver",), locations=(tree.south,)))
    assert client.get(f"/admin/approvals/task/{task.pk}/progress.json").status_code == 404


def test_dashboard_shows_approvals_waiting_for_me(client, tree, maker, checker):
    many_tasks(tree, maker, 2)
    client.force_login(checker)
    figures = {f.label: f for f in client.get("/admin/").context["key_figures"]}
    assert figures["Approvals waiting for me"].value == 2
    assert figures["Approvals waiting for me"].url == "/admin/approvals/task/my-approvals/"


def test_policies_and_levels_are_edited_in_the_admin(client, administrator, tree, maker):
    from django.contrib.auth.models import Group

    client.force_login(administrator)
    response = client.post(
        "/admin/approvals/approvalpolicy/add/",
        {
            "action": RENAME,
            "requires_approval": "on",
            "notes": "",
            "levels-TOTAL_FORMS": "2",
            "levels-INITIAL_FORMS": "0",
            "levels-MIN_NUM_FORMS": "0",
            "levels-MAX_NUM_FORMS": "1000",
            "levels-0-order": "1",
            "levels-0-role": Group.objects.get(name="Approver").pk,
            "levels-0-approvers_required": "2",
            "levels-1-order": "2",
            "levels-1-role": Group.objects.get(name="Payment officer").pk,
            "levels-1-approvers_required": "1",
            "levels-1-applies_above_amount": "500",
        },
    )
    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    policy = ApprovalPolicy.objects.get(action=RENAME)
    assert [(lv.order, lv.role.name, lv.approvers_required) for lv in policy.levels.all()] == [
        (1, "Approver", 2),
        (2, "Payment officer", 1),
    ]
    task = approval_request(action=RENAME, target=tree.north_a, payload={"name": "X"}, maker=maker)
    assert [level["required"] for level in task.levels] == [
        2
    ]  # no amount: the threshold level does not apply
    assert client.get("/admin/approvals/approvalpolicy/").status_code == 200


def test_a_policy_requiring_approval_needs_a_level_that_always_applies(client, administrator):
    from django.contrib.auth.models import Group

    client.force_login(administrator)
    form = {
        "action": "tests.other",
        "requires_approval": "on",
        "notes": "",
        "levels-TOTAL_FORMS": "1",
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
        "levels-0-order": "1",
        "levels-0-role": Group.objects.get(name="Approver").pk,
        "levels-0-approvers_required": "1",
        "levels-0-applies_above_amount": "100",
    }
    response = client.post("/admin/approvals/approvalpolicy/add/", form)
    assert response.status_code == 200
    assert "needs at least one level that always applies" in response.content.decode()
    assert not ApprovalPolicy.objects.filter(action="tests.other").exists()
    response = client.post(
        "/admin/approvals/approvalpolicy/add/", {**form, "levels-TOTAL_FORMS": "0", "requires_approval": ""}
    )
    assert response.status_code == 302
    assert ApprovalPolicy.objects.get(action="tests.other").requires_approval is False


def test_the_header_count_costs_two_small_queries_and_agrees_with_my_approvals(
    tree, maker, checker, south_checker, django_assert_num_queries
):
    from approvals.selectors import pending_approvals_count, tasks_awaiting

    many_tasks(tree, maker, 4)  # half of them checked per object, half in SQL
    for user in (checker, south_checker):
        assert pending_approvals_count(user) == tasks_awaiting(user).count()
    assert pending_approvals_count(checker) == 4 and pending_approvals_count(south_checker) == 0
    Task.objects.filter(action=RENAME_CAN_VIEW).delete()
    checker.refresh_from_db()
    pending_approvals_count(checker)  # the user's scope is read once per request
    # What waits at my levels (actions, target types), then the count of those I may see.
    with django_assert_num_queries(2):
        assert pending_approvals_count(checker) == 2


def test_the_dashboard_counts_my_approvals_once_for_the_header_and_its_key_figure(tree, maker, checker):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    many_tasks(tree, maker, 4)
    client = Client()
    client.force_login(checker)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/admin/")
    assert page.status_code == 200
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "approvals_task"' in q["sql"] and "COUNT(" in q["sql"]
    ]
    assert len(counts) == 1, counts
