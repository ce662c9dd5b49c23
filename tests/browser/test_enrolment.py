"""Enrolment in a browser: an officer filters households, previews, requests; a checker approves."""

from __future__ import annotations

from datetime import date

import pytest
from guardian.shortcuts import assign_perm

from approvals.models import Task, TaskState
from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan
from registry.models import Household
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_enrols_filtered_group_and_checker_approves(page, tree, maker, checker, settings):
    from playwright.sync_api import expect

    # The enrolment runs as a background job: here in-process when the approval commits, not in a worker.
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }

    plan = BenefitPlan.objects.create(
        code="CT1",
        name="Cash transfer",
        plan_type="household",
        start_date=date(2026, 1, 1),
        status="active",
        max_beneficiaries=100,
    )
    for codename in ("view_benefitplan", "manage_beneficiaries"):
        assign_perm(f"programs.{codename}", maker, plan)
    assign_perm("programs.view_benefitplan", checker, plan)
    for i in range(5):
        Household.objects.create(code=f"VIL-{i}", location=tree.north_a)
    for i in range(3):
        Household.objects.create(code=f"TOWN-{i}", location=tree.north_b)
    Household.objects.create(code="VIL-SOUTH", location=tree.south)  # outside the maker's locations
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # The officer filters, previews and requests the enrolment.
    browser_login(page, "maker")
    page.goto(f"/admin/programs/benefitplan/{plan.pk}/change/")
    page.click("#plan-enrol-link")
    page.fill("#id_code", "VIL")
    page.click("#enrol-preview-button")
    expect(page.locator("#preview-selected")).to_have_text("5")
    expect(page.locator("#preview-to-enrol")).to_have_text("5")
    expect(page.locator("#preview-sample tbody tr")).to_have_count(5)
    page.select_option("#id_status", "active")
    page.fill("#id_reason", "First wave in the villages")
    page.click("#enrol-request-button")
    expect(page.locator(".messagelist")).to_contain_text("waits for approval")
    task = Task.objects.get(action="programs.enrol", object_id=plan.pk)
    assert task.state == TaskState.PENDING and task.maker == maker
    assert not Beneficiary.objects.exists()
    page.click("#logout-form button")

    # The checker sees how many and which, and approves.
    browser_login(page, "checker")
    page.goto(f"/admin/approvals/task/{task.pk}/change/")
    expect(page.locator("#task-count")).to_have_text("5")
    expect(page.locator("#task")).to_contain_text("VIL-0")
    with page.expect_navigation():  # the decision posts, then the page comes back
        page.click("#task-approve")
    page.reload()
    expect(page.locator("#task-state")).to_have_text("Executed")

    rows = Beneficiary.objects.filter(benefit_plan=plan)
    assert sorted(rows.values_list("household__code", flat=True)) == [f"VIL-{i}" for i in range(5)]
    assert set(rows.values_list("status", flat=True)) == {BeneficiaryStatus.ACTIVE}
    page.goto(f"/admin/programs/benefitplan/{plan.pk}/change/")
    expect(page.locator("#plan-counts [data-status=active] .key-figure-value")).to_have_text("5")
    assert not [e for e in errors if "Content Security Policy" in e], errors
