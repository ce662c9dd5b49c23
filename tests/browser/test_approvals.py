"""Maker-checker in a real browser: a maker asks for a change, a checker approves it, the change appears."""

from __future__ import annotations

import re

import pytest

from approvals.models import Task, TaskState
from registry.models import Individual
from registry.services import individual_create
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_maker_requests_checker_approves_and_the_change_appears(page, tree, maker, checker):
    from playwright.sync_api import expect

    person = individual_create(
        given_name="Amina", family_name="Diallo", sex="F", location=tree.north_a, user=maker
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # The maker edits the record: the edit waits for approval instead of being saved.
    browser_login(page, "maker")
    page.goto(f"/admin/registry/individual/{person.pk}/change/")
    page.fill("#id_given_name", "Aminata")
    page.click("input[name=_save]")
    task = Task.objects.get(action="registry.update", object_id=person.pk)
    assert task.state == TaskState.PENDING and task.maker == maker
    assert Individual.objects.get(pk=person.pk).given_name == "Amina"
    page.goto("/admin/approvals/task/my-requests/")
    expect(page.locator("#result_list")).to_contain_text("Edit registry data")
    page.click("#logout-form button")

    # The checker sees it waiting, reads the before/after and approves.
    browser_login(page, "checker")
    expect(page.locator("#approvals-waiting-count")).to_have_text("1")
    page.click("#approvals-waiting")
    page.click(f"#result_list a[href*='/task/{task.pk}/change/']")
    changes = page.locator("#task-changes")
    expect(changes).to_contain_text("Amina")
    expect(changes).to_contain_text("Aminata")
    page.fill("#approve-comment", "Matches the ID card")
    page.click("#task-approve")
    expect(page.locator("#task-state")).to_have_text("Executed")
    expect(page.locator("#task-decisions")).to_contain_text("Matches the ID card")
    expect(page.locator("#approvals-waiting-count")).to_have_text("0")

    # The change is there, on the record and on its history.
    assert Individual.objects.get(pk=person.pk).given_name == "Aminata"
    page.goto(f"/admin/registry/individual/{person.pk}/change/")
    assert re.search("Aminata", page.content())
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_heavy_action_shows_executing_with_progress_then_executed(page, tree, maker, checker):
    from playwright.sync_api import expect

    from approvals.services import approval_request
    from approvals.tasks import task_execute_job
    from jobs.models import Job
    from registry.models import Location
    from tests.approvals.actions import BULK, register_test_actions, unregister_test_actions

    register_test_actions()
    try:
        for n in range(4):
            Location.objects.create(code=f"N-A-{n}", name=f"child {n}", parent=tree.north_a)
        task = approval_request(action=BULK, target=tree.north_a, payload={}, maker=maker)
        browser_login(page, "checker")
        page.goto(f"/admin/approvals/task/{task.pk}/change/")
        expect(page.locator("#task-count")).to_have_text("4")
        page.click("#task-approve")
        expect(page.locator("#task-state")).to_have_text("Executing")
        job = Job.objects.get(pk=Task.objects.get(pk=task.pk).job_id)
        expect(page.locator(f'[data-job-text="{job.pk}"]')).to_contain_text("Queued")
        # The worker reports progress: the open page follows it without a reload.
        Job.objects.filter(pk=job.pk).update(state="running", done=2, total=4, message="Renamed 2")
        expect(page.locator(f'[data-job-text="{job.pk}"]')).to_contain_text("2 / 4", timeout=10000)
        expect(page.locator(".task-job .progress-bar")).to_have_attribute("style", re.compile(r"width: 50%"))
        # SQLite's test database lets one connection write at a time: leave the page while the job commits.
        page.goto("about:blank")
        task_execute_job.call(job.pk, task.pk)  # what the db_worker does
        page.goto(f"/admin/approvals/task/{task.pk}/change/")
        expect(page.locator("#task-state")).to_have_text("Executed")
        expect(page.locator(".task-job .progress-bar")).to_have_attribute("style", re.compile(r"width: 100%"))
        expect(page.locator(f'[data-job-text="{job.pk}"]')).to_contain_text("Succeeded")
    finally:
        unregister_test_actions()
