"""One complaint in a real browser: filed on the public page without signing in, then assigned, started,
resolved and closed by staff in the admin, then checked on the public page with its tracking code."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from access.roles import GRIEVANCE_OFFICER
from grievances.models import Category, Team, Ticket, TicketStatus
from tests.conftest import browser_login, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_complaint_from_the_public_page_to_closure(page, tree, settings):
    from playwright.sync_api import expect

    settings.GRIEVANCE_PUBLIC_MIN_FILL_SECONDS = 1
    settings.SMS_BACKEND = "notifications.senders.MemorySmsBackend"
    grace = make_user("grace", roles=(GRIEVANCE_OFFICER,), locations=(tree.north,))
    team = Team.objects.create(name="North desk", supervisor_role=Group.objects.get(name=GRIEVANCE_OFFICER))
    team.members.set([grace])
    team.locations.set([tree.north])
    Category.objects.create(code="late-payment", name="Late payment", sla_days=5, team=team)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # A person files a complaint, without an account.
    page.goto("/grievances/file/")
    page.select_option("#id_category", "late-payment")
    page.fill("#id_description", "My May payment never came.")
    page.select_option("#id_location", "N-A")
    page.fill("#id_name", "Amina Otieno")
    page.fill("#id_phone", "+254 700 000 001")
    page.wait_for_timeout(1100)  # a person takes longer than the minimum fill time
    page.click("#file-submit")
    expect(page.locator("#ticket-number")).to_be_visible()
    number = page.locator("#ticket-number").inner_text()
    code = page.locator("#tracking-code").inner_text()
    ticket = Ticket.objects.get(number=number)
    assert ticket.tracking_code == code and ticket.team == team and ticket.status == TicketStatus.RECEIVED

    # Staff take it through its life in the admin.
    browser_login(page, "grace")
    page.goto(f"/admin/grievances/ticket/{ticket.pk}/change/")
    expect(page.locator("#ticket-status")).to_have_text("Received")
    page.select_option("#id_assignee", str(grace.pk))
    page.click("#step-assign")
    expect(page.locator("#ticket-status")).to_have_text("Assigned")
    page.click("#step-start")
    expect(page.locator("#ticket-status")).to_have_text("In progress")
    page.fill("#id_comment", "We asked the provider for the receipt.")
    page.check("#id_public")
    page.click("#step-comment")
    page.fill("#id_comment", "Internal: the agent is suspected.")
    page.click("#step-comment")
    page.fill("#id_resolution", "Paid again on 3 June.")
    page.click("#step-resolve")
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    page.click("#step-close")
    expect(page.locator("#ticket-status")).to_have_text("Closed")
    page.click("#logout-form button")

    # The complainant checks it with the number and tracking code.
    page.goto("/grievances/status/")
    page.fill("#id_number", number)
    page.fill("#id_tracking_code", code)
    page.wait_for_timeout(1100)
    page.click("#status-submit")
    expect(page.locator("#ticket-status")).to_have_text("Closed")
    events = page.locator("#ticket-events")
    for step in ("Received", "Assigned", "In progress", "Resolved", "Closed"):
        expect(events).to_contain_text(step)
    expect(events).to_contain_text("We asked the provider for the receipt.")
    assert "agent is suspected" not in page.content() and "Amina" not in page.content()
    assert not [e for e in errors if "Content Security Policy" in e], errors
