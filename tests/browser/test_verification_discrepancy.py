"""A verifier, on a phone-sized screen, records that a sampled recipient did not receive the money; a ticket
about that payment line appears, and the payroll page counts the discrepancy."""

from __future__ import annotations

import pytest

from grievances.models import Category, Ticket
from grievances.verification import PAYMENT_NOT_RECEIVED
from tests.conftest import Tree, browser_login, make_user
from tests.payments.conftest import World, world_build
from tests.payments.verification_world import paid_payroll, started_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(tree: Tree) -> World:
    return world_build(tree)


def test_not_received_becomes_a_ticket_on_the_line(page, world: World, tree: Tree) -> None:
    from playwright.sync_api import expect

    # A transactional test's flush removed what the grievances migration made.
    Category.objects.get_or_create(code=PAYMENT_NOT_RECEIVED, defaults={"name": "Payment not received"})
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=4)
    record = plan.records.select_related("benefit").order_by("pk").first()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 390, "height": 844})

    browser_login(page, "verifier")
    page.goto(f"/admin/payments/verificationrecord/?plan__id__exact={plan.pk}")
    page.click(f'a[href="/admin/payments/verificationrecord/{record.pk}/record/"]')
    expect(page.locator("#verification-line")).to_contain_text(record.benefit.reference)
    page.check("input[name=received][value=no]")
    page.check("input[name=method][value=visit]")
    page.fill("#id_comment", "Never collected: the agent was closed")
    page.click("#verification-record-save")
    expect(page.locator(".messagelist")).to_contain_text("Recorded")

    ticket = Ticket.objects.get()
    assert ticket.benefit_id == record.benefit_id and ticket.category.code == PAYMENT_NOT_RECEIVED
    assert "the agent was closed" in ticket.description
    page.click("#logout-form button")

    browser_login(page, "payer")
    page.goto(f"/admin/payments/payroll/{paid.payroll.pk}/change/")
    expect(page.locator(f"#verification-summary-{plan.pk}")).to_contain_text("1 with a discrepancy")
    page.click("#logout-form button")

    # The line's page lists the complaint about it, for whoever may see tickets.
    make_user("root", superuser=True)
    browser_login(page, "root")
    page.goto(f"/admin/payments/benefit/{record.benefit_id}/change/")
    expect(page.locator(".benefit-panel")).to_contain_text(ticket.number)
    assert not [e for e in errors if "Content Security Policy" in e], errors
