"""Uploads in a browser: through django-import-export's import screen an officer uploads a file, sees its
errors, fixes and re-uploads, and a checker approves."""

from __future__ import annotations

import csv
import io

import pytest

from approvals.models import Task, TaskState
from programs.models import Beneficiary
from registry.models import Household, Individual
from tests.conftest import browser_login
from tests.uploads.conftest import HEADER, csv_bytes, household_rows, plan_make
from uploads.models import BatchState, ImportBatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _upload(page, plan, path) -> None:
    """From the uploads list, import-export's Import button, then its form (the format follows the file)."""
    from playwright.sync_api import expect

    page.goto("/admin/uploads/importbatch/")
    page.click("a.import_link")
    expect(page.locator("h1")).to_have_text("Import beneficiaries")
    expect(page.locator("#content")).to_contain_text("This importer will import the following fields:")
    page.select_option("#id_benefit_plan", str(plan.pk))
    page.set_input_files("#id_import_file", str(path))
    expect(page.locator("#id_format option:checked")).to_have_text(path.suffix.lstrip("."))
    page.click("#upload-submit")


def test_upload_errors_fix_reupload_and_approve(page, tree, maker, checker, settings, tmp_path):
    from guardian.shortcuts import assign_perm
    from playwright.sync_api import expect

    # Validation and commit are background jobs: here they run in-process when their transaction commits.
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    plan = plan_make("CASH", "household")
    for codename in ("view_benefitplan", "manage_beneficiaries"):
        assign_perm(f"programs.{codename}", maker, plan)
    assign_perm("programs.view_benefitplan", checker, plan)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # H1 is fine; H2's head has an impossible sex, so all of H2 waits.
    rows = household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    rows[3][2] = "Q"
    first_file = tmp_path / "people.csv"
    first_file.write_bytes(csv_bytes(rows))
    browser_login(page, "maker")

    # A file with a column the plan does not have is refused on the form: nothing is stored.
    wrong_file = tmp_path / "wrong.csv"
    wrong_file.write_bytes(csv_bytes(rows, header=["colour", *HEADER[1:]]))
    _upload(page, plan, wrong_file)
    expect(page.locator(".errorlist")).to_contain_text("Unknown column(s): colour.")
    expect(page.locator(".errorlist")).to_contain_text("Missing required column(s): given_name.")
    assert not ImportBatch.objects.exists()

    _upload(page, plan, first_file)
    expect(page.locator("#batch-state")).to_have_text("Validated")
    expect(page.locator("#count-new")).to_have_text("3")
    expect(page.locator("#count-error")).to_have_text("3")
    expect(page.locator("#batch-errors")).to_contain_text("'Q' is not one of: F, M, X.")
    expect(page.locator("#batch-errors")).to_contain_text("Household H2 has no head")
    with page.expect_download() as download:
        page.click("#download-rejected")
    rejected = download.value.path().read_text(encoding="utf-8-sig")
    assert "row 5: sex: 'Q' is not one of" in rejected
    page.click("#request-commit")
    expect(page.locator(".messagelist")).to_contain_text("waits for approval")
    first = ImportBatch.objects.get(original_name="people.csv")

    # The officer fixes the rejected rows in the downloaded file and uploads it again.
    table = list(csv.reader(io.StringIO(rejected)))
    table[1][2] = "M"
    fixed_file = tmp_path / "people-fixed.csv"
    with fixed_file.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(table)
    _upload(page, plan, fixed_file)
    expect(page.locator("#count-new")).to_have_text("3")
    expect(page.locator("#count-error")).to_have_text("0")
    page.click("#request-commit")
    expect(page.locator(".messagelist")).to_contain_text("waits for approval")
    second = ImportBatch.objects.get(original_name="people-fixed.csv")
    assert Individual.objects.count() == 0
    page.click("#logout-form button")

    # The checker sees the counts and a sample, and approves both.
    browser_login(page, "checker")
    for batch in (first, second):
        task = Task.objects.get(action="uploads.commit", object_id=batch.pk)
        page.goto(f"/admin/approvals/task/{task.pk}/change/")
        expect(page.locator("#task-count")).to_have_text("3")
        expect(page.locator("#task")).to_contain_text("Row 2:")
        with page.expect_navigation():  # the decision posts, then the page comes back
            page.click("#task-approve")
        page.reload()
        expect(page.locator("#task-state")).to_have_text("Executed")
    assert set(Task.objects.values_list("state", flat=True)) == {TaskState.EXECUTED}
    assert set(ImportBatch.objects.values_list("state", flat=True)) == {BatchState.COMMITTED}
    assert Individual.objects.count() == 6
    assert Household.objects.get(code="H2").size == 3
    assert Beneficiary.objects.filter(benefit_plan=plan).count() == 2
    assert not [e for e in errors if "Content Security Policy" in e], errors
