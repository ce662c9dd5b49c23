"""Status-change tasks in "My approvals": scoped in SQL by plan and location, a constant number of queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.roles import APPROVER, PROGRAMME_OFFICER
from approvals.models import Task
from approvals.selectors import pending_approvals_count, task_list, tasks_awaiting
from approvals.services import policy_get_or_create
from programs.models import Beneficiary
from programs.services import EnrolmentSelection, beneficiary_status_request, plan_enrol
from registry.models import Household
from tests.conftest import make_user
from tests.programs.conftest import beneficiaries, grant

pytestmark = pytest.mark.django_db
ACTION = "programs.beneficiary_status"


@pytest.fixture
def enrolled(officer, household_plan, tree) -> list[Beneficiary]:
    Household.objects.bulk_create(
        Household(code=f"H-{n:03d}", location=tree.north_a if n % 2 else tree.north_b) for n in range(12)
    )
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    return beneficiaries(household_plan)


def request_activations(officer, plan, rows) -> list[Task]:  # type: ignore[no-untyped-def]
    return [
        beneficiary_status_request(
            user=officer, plan=plan, transition="activate", reason="visited", beneficiary=row
        )
        for row in rows
    ]


def my_approvals(client, user) -> tuple[int, set[int]]:  # type: ignore[no-untyped-def]
    """Queries of the "My approvals" page and the tasks it lists."""
    client.force_login(user)
    client.get("/admin/approvals/task/?mine=awaiting")  # warm the process-wide caches (content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/approvals/task/?mine=awaiting")
    assert response.status_code == 200
    return len(queries), {task.pk for task in response.context["cl"].result_list}


def test_my_approvals_runs_the_same_queries_for_3_or_12_status_tasks(
    client, officer, approver, household_plan, enrolled
):
    first = request_activations(officer, household_plan, enrolled[:3])
    queries_for_3, listed = my_approvals(client, approver)
    assert listed == {task.pk for task in first}
    rest = request_activations(officer, household_plan, enrolled[3:])
    queries_for_12, listed = my_approvals(client, approver)
    assert listed == {task.pk for task in first + rest} and len(listed) == 12
    assert queries_for_12 == queries_for_3


def awaiting(user) -> tuple[int, set[int], int]:  # type: ignore[no-untyped-def]
    """Queries of the awaiting list and its count for a fresh copy of the user, the tasks, the count."""
    fresh = type(user).objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        listed = {task.pk for task in tasks_awaiting(fresh)}
        count = pending_approvals_count(fresh)
    return len(queries), listed, count


def test_the_awaiting_list_and_its_count_take_a_fixed_number_of_queries(
    officer,
    approver,
    household_plan,
    enrolled,
):
    first = request_activations(officer, household_plan, enrolled[:2])
    awaiting(approver)  # warm the content-type cache
    queries_for_2, listed, count = awaiting(approver)
    assert listed == {task.pk for task in first} and count == 2
    rest = request_activations(officer, household_plan, enrolled[2:])
    queries_for_12, listed, count = awaiting(approver)
    assert listed == {task.pk for task in first + rest} and count == 12
    assert queries_for_12 == queries_for_2
    # Two role checks, the location paths; the tasks needing a per-object check (other actions), the
    # list, the count: nothing per task.
    assert queries_for_12 <= 6


def test_a_checker_outside_the_locations_sees_none_of_them(officer, household_plan, enrolled, tree):
    request_activations(officer, household_plan, enrolled)
    south_checker = make_user("south-checker", roles=(APPROVER,), locations=(tree.south,))
    assert list(tasks_awaiting(south_checker)) == []
    assert pending_approvals_count(south_checker) == 0
    assert not task_list(user=south_checker).filter(action=ACTION).exists()
    north_a_checker = make_user("north-a-checker", roles=(APPROVER,), locations=(tree.north_a,))
    in_north_a = {row.pk for row in enrolled if row.location_id == tree.north_a.pk}
    assert len(in_north_a) == 6
    assert {task.object_id for task in tasks_awaiting(north_a_checker)} == in_north_a
    assert pending_approvals_count(north_a_checker) == len(in_north_a)


def test_a_checker_outside_the_plan_sees_none_of_them(officer, household_plan, enrolled, tree):
    """Programme officers approve status changes here: only of the plans they are assigned to."""
    level = policy_get_or_create(action=ACTION).levels.get()
    level.role = Group.objects.get(name=PROGRAMME_OFFICER)
    level.save()
    tasks = request_activations(officer, household_plan, enrolled[:3])
    bulk = beneficiary_status_request(
        user=officer,
        plan=household_plan,
        transition="activate",
        reason="visited",
        ids=[row.pk for row in enrolled[3:6]],
    )
    colleague = make_user("colleague", roles=(PROGRAMME_OFFICER,), locations=(tree.north,))
    assert list(tasks_awaiting(colleague)) == []
    assert pending_approvals_count(colleague) == 0
    assert not task_list(user=colleague).filter(action=ACTION).exists()
    colleague = grant(colleague, household_plan, "view_benefitplan")
    assert {task.pk for task in tasks_awaiting(colleague)} == {task.pk for task in tasks} | {bulk.pk}
    assert pending_approvals_count(colleague) == 4
