"""A payroll in a browser: an officer defines a formula, previews, generates, submits; a checker approves."""

from __future__ import annotations

import pytest

from approvals.models import Task, TaskState
from payments.models import Benefit, PaymentPlan, Payroll, PayrollStatus
from tests.conftest import Tree, browser_login
from tests.payments.conftest import World, world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(tree: Tree) -> World:
    return world_build(tree)


def test_officer_defines_previews_generates_and_approver_approves(page, world: World, settings) -> None:
    from playwright.sync_api import expect

    # The generation job runs in-process when its request commits, not in a worker.
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    browser_login(page, "payer")
    page.goto("/admin/payments/paymentplan/add/")
    page.select_option("#id_benefit_plan", str(world.plan.pk))
    page.fill("#id_name", "Monthly transfer")
    page.fill("#id_amount_formula", "150 + 25 * min(household_sise, 6)")
    page.fill("#id_filter_expression", 'status == "active" and data.school_attendance >= 0.8')
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text('unknown field "household_sise"')
    page.fill("#id_amount_formula", "150 + 25 * min(household_size, 6)")
    page.click("input[name=_save]")

    expect(page.locator("#preview-count")).to_have_text("2")
    expect(page.locator("#preview-total")).to_contain_text("475.00")
    expect(page.locator("#preview-sample tbody tr")).to_have_count(2)
    page.select_option("#id_cycle", str(world.cycle.pk))
    page.select_option("#id_payment_point", str(world.point.pk))
    page.click("#generate-payroll")

    payroll = Payroll.objects.get(payment_plan=PaymentPlan.objects.get(name="Monthly transfer"))
    page.reload()
    expect(page.locator('[data-figure="pending.count"]')).to_have_text("2")
    page.fill("#id_reason", "January")
    page.click("#step-submit")
    expect(page.locator(".messagelist")).to_contain_text("pending")
    task = Task.objects.get(action="payments.payroll_approve")
    page.click("#logout-form button")

    browser_login(page, "approver")
    page.goto(f"/admin/approvals/task/{task.pk}/change/")
    expect(page.locator("#task")).to_contain_text("475.00")
    with page.expect_navigation():  # the decision posts, then the page comes back
        page.click("#task-approve")
    page.reload()
    expect(page.locator("#task-state")).to_have_text("Executed")
    task.refresh_from_db()
    payroll.refresh_from_db()
    assert task.state == TaskState.EXECUTED and payroll.status == PayrollStatus.APPROVED
    page.goto(f"/admin/payments/payroll/{payroll.pk}/change/")
    expect(page.locator("#payroll-status")).to_have_text("Approved")
    assert Benefit.objects.filter(payroll=payroll).count() == 2
    assert not [e for e in errors if "Content Security Policy" in e], errors
