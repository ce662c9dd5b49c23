"""What the pages of the load test cost: queries per page, bounded and not growing with the data, and no
heavy work (a summaries refresh, a full COUNT of a big table, any write) done as a side effect of a GET."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import Task
from approvals.selectors import PENDING_COUNT_CAP, pending_approvals_count, pending_count_display
from jobs.models import Job
from programs.models import Beneficiary
from programs.services import EnrolmentSelection, beneficiary_status_request, plan_enrol
from registry.models import Household
from tests.programs.conftest import approver, household_plan, individual_plan, officer  # noqa: F401
from tests.registry.conftest import make_household, make_individual  # noqa: F401

pytestmark = pytest.mark.django_db

# The most queries each page may run; what it runs now, with a little room. A change that adds a query per
# page (or per row) fails here: find where it comes from before raising a figure.
LIMITS = {
    "dashboard": 22,
    "registry changelist, search": 11,
    "household page": 12,
    "approvals queue": 15,
    "task page": 20,
}
BIG_TABLES = ("registry_individual", "registry_household", "approvals_task", "payments_benefit")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def page_queries(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    client.get(url)  # warm the process-wide caches (content types, templates)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries]


def assert_light(sql: list[str]) -> None:
    """No write, and every COUNT over a big table bounded (a LIMIT inside it)."""
    writes = [statement for statement in sql if WRITE.match(statement)]
    assert not writes, writes
    for statement in sql:
        if "COUNT(" in statement.upper() and any(f'"{table}"' in statement for table in BIG_TABLES):
            assert "LIMIT" in statement.upper(), f"an unbounded count: {statement[:300]}"


@pytest.fixture
def activations(officer, household_plan, tree) -> list[Task]:  # noqa: F811
    Household.objects.bulk_create(
        Household(code=f"H-{n:03d}", location=tree.north_a if n % 2 else tree.north_b) for n in range(6)
    )
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    rows = Beneficiary.objects.filter(benefit_plan=household_plan).order_by("pk")
    return [
        beneficiary_status_request(
            user=officer, plan=household_plan, transition="activate", reason="visited", beneficiary=row
        )
        for row in rows
    ]


def test_the_dashboard_costs_a_bounded_number_of_queries(client, approver, activations):  # noqa: F811
    client.force_login(approver)
    sql = page_queries(client, "/admin/")
    assert len(sql) <= LIMITS["dashboard"], len(sql)
    assert_light(sql)


def test_a_registry_search_costs_the_same_for_few_or_many_people(
    client,
    maker,
    tree,
    make_individual,  # noqa: F811
):
    client.force_login(maker)
    url = "/admin/registry/individual/?q=Family"
    make_individual(tree.north_a)
    few = page_queries(client, url)
    for _ in range(8):
        make_individual(tree.north_b)
    many = page_queries(client, url)
    assert len(many) == len(few) <= LIMITS["registry changelist, search"], (len(few), len(many))
    assert_light(many)


def test_a_household_page_costs_the_same_for_two_or_six_members(
    client,
    maker,
    tree,
    make_household,  # noqa: F811
):
    client.force_login(maker)
    small = make_household(tree.north_a, members=2)
    large = make_household(tree.north_a, members=6)
    few = page_queries(client, f"/admin/registry/household/{small.pk}/change/")
    many = page_queries(client, f"/admin/registry/household/{large.pk}/change/")
    assert len(many) == len(few) <= LIMITS["household page"], (len(few), len(many))
    assert_light(many)


def test_the_approvals_queue_and_a_task_page_cost_a_bounded_number_of_queries(
    client,
    approver,  # noqa: F811
    activations,
):
    client.force_login(approver)
    queue = page_queries(client, "/admin/approvals/task/?mine=awaiting")
    assert len(queue) <= LIMITS["approvals queue"], len(queue)
    assert_light(queue)
    task = page_queries(client, f"/admin/approvals/task/{activations[0].pk}/change/")
    assert len(task) <= LIMITS["task page"], len(task)
    assert_light(task)
    # The target's visibility is asked once for the page, its decision and its retry checks.
    visibility = [s for s in task if s.startswith('SELECT 1 AS "a" FROM "programs_beneficiary"')]
    assert len(visibility) <= 1, visibility


def test_users_with_nothing_waiting_pay_one_small_query_for_the_badge(
    maker,
    activations,
    django_assert_num_queries,
):
    """The maker approves nothing: what waits at their levels is read (none), and nothing more is asked."""
    from django.contrib.auth.models import User

    user = User.objects.get(pk=maker.pk)
    user.groups.all()  # the roles are read once per request in any case
    from access.roles import user_role_ids

    list(user_role_ids(user))
    with django_assert_num_queries(1):
        assert pending_approvals_count(user, cap=PENDING_COUNT_CAP) == 0


def test_the_badge_stops_counting_past_the_cap(approver, activations):  # noqa: F811
    from django.contrib.auth.models import User

    fresh = User.objects.get(pk=approver.pk)
    assert pending_approvals_count(fresh) == len(activations) == 6
    assert pending_approvals_count(fresh, cap=3) == 4  # "more than 3"
    assert pending_count_display(PENDING_COUNT_CAP) == str(PENDING_COUNT_CAP)
    assert pending_count_display(PENDING_COUNT_CAP + 1) == f"{PENDING_COUNT_CAP}+"


def test_no_page_of_the_load_test_starts_a_job_or_writes(client, approver, activations, tree):  # noqa: F811
    """A summaries refresh (or any job) is started by its button or by a change, never by viewing."""
    client.force_login(approver)
    jobs = Job.objects.count()
    household = Household.objects.order_by("pk").first()
    for url in (
        "/admin/",
        "/admin/registry/individual/?q=H",
        f"/admin/registry/household/{household.pk}/change/",
        "/admin/approvals/task/?mine=awaiting",
        f"/admin/approvals/task/{activations[0].pk}/change/",
    ):
        assert_light(page_queries(client, url))
    assert Job.objects.count() == jobs


def test_a_list_rows_checkbox_is_the_html_django_renders():
    """The admin lists' row checkbox is written directly (portal.sites.action_checkbox): the same HTML as
    Django's CheckboxInput, escaping included."""
    from django import forms
    from django.contrib import admin
    from django.contrib.admin import helpers
    from django.utils.html import format_html

    individual = type("Row", (), {"pk": 12, "__str__": lambda self: 'Ann "<b>" & O\'Neil'})()
    widget = forms.CheckboxInput(
        {
            "class": "action-select",
            "aria-label": format_html("Select this object for an action - {}", str(individual)),
        },
        lambda value: False,
    )
    expected = widget.render(helpers.ACTION_CHECKBOX_NAME, "12")
    assert admin.ModelAdmin.action_checkbox(None, individual) == expected


def test_the_sidebar_is_asked_once_and_follows_the_roles_taken_away(client, maker):
    """The sidebar's app list is built once per request and kept a few seconds per user and roles: the next
    page asks no model admin again; the roles taken away change it on the next page."""
    client.force_login(maker)
    first = page_queries(client, "/admin/")
    again = page_queries(client, "/admin/")
    assert len(again) <= len(first)
    before = [app["name"] for app in client.get("/admin/").context["app_list"]]
    assert "Programmes" in before
    maker.groups.clear()
    after = [app["name"] for app in client.get("/admin/").context["app_list"]]
    assert "Programmes" not in after and after != before


def test_the_badge_follows_a_decision_at_once(client, approver, activations):  # noqa: F811
    """The badge's count is cached per user, and any task changed moves it on: approving one task shows
    one fewer waiting on the next page."""
    from approvals.services import task_approve

    client.force_login(approver)
    assert client.get("/admin/").context["pending_approvals_count"]() == str(len(activations))
    task_approve(task=activations[0], user=approver)
    assert client.get("/admin/").context["pending_approvals_count"]() == str(len(activations) - 1)


def test_jobs_lock_their_own_rows_only():
    """A job's long transaction (an upload's validation and commit, a payroll's steps) locks its batch or
    payroll row FOR UPDATE OF that row only, not the rows select_related joins to it (the plan, the
    uploader's user): the web requests that insert rows referring to those wait for the job's COMMIT (their
    foreign-key checks take a key-share lock), up to 14.7 s in the load test."""
    import inspect

    import payments.services.checks as payment_checks
    import programs.services as programme_services
    import uploads.services as upload_services

    for module, model in (
        (upload_services, "ImportBatch"),
        (payment_checks, "Payroll"),
        (programme_services, "Beneficiary"),
    ):
        source = re.sub(r"\s+", "", inspect.getsource(module))
        assert f"{model}.objects.select_for_update().select_related" not in source, module.__name__
        assert f'{model}.objects.select_for_update(of=("self",)).select_related' in source, module.__name__
