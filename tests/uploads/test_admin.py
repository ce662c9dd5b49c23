"""The admin screens: the import screen with templates, batch page with counts and errors, downloads,
commit request."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from tests.uploads.conftest import csv_bytes, household_rows
from uploads.models import BatchState, ImportBatch

CSV_FORMAT = "0"  # the import screen's formats: csv, tsv, xlsx


def _login(client, user) -> None:
    client.force_login(user)


def _post(client, plan, upload, **fields):
    data = {
        "resource": "0",
        "benefit_plan": plan.pk,
        "import_file": upload,
        "format": CSV_FORMAT,
        "encoding": "auto",
        "date_format": "iso",
        "duplicate_mode": "skip",
        **fields,
    }
    return client.post(reverse("admin:uploads_importbatch_import"), data)


def test_templates_list_every_column_and_describe_them(client, maker, household_plan):
    _login(client, maker)
    page = client.get(reverse("admin:uploads_importbatch_import"))
    assert page.status_code == 200
    url = reverse("admin:uploads_importbatch_template", args=[household_plan.pk, "csv"])
    assert url in page.content.decode()
    header = client.get(url).content.decode("utf-8-sig").strip().split(",")
    assert header[:4] == ["given_name", "family_name", "other_names", "sex"]
    assert {
        "national_id",
        "household_code",
        "household_role",
        "primary_recipient",
        "ind.education",
        "hh.monthly_income",
        "plan.vulnerability",
    } <= set(header)
    workbook = load_workbook(io.BytesIO(client.get(url.replace(".csv", ".xlsx")).content))
    assert workbook.sheetnames == ["Beneficiaries", "Columns"]
    described = {row[0]: row for row in workbook["Columns"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert described["household_role"][1] == "yes"
    assert "one of: low, high" in described["plan.vulnerability"][4]


def test_upload_validate_and_request_commit(
    client, maker, household_plan, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    _login(client, maker)
    rows = household_rows() + [["Bad", "Row", "Q", "1990-01-01", "N-A", "ID9", "H9", "head", "", "", ""]]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, household_plan, SimpleUploadedFile("people.csv", csv_bytes(rows)))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:uploads_importbatch_change", args=[batch.pk]
    )
    page = client.get(response.url).content.decode()
    assert 'id="count-new">3<' in page and 'id="count-error">1<' in page
    assert "&#x27;Q&#x27; is not one of: F, M, X." in page
    rejected = client.get(reverse("admin:uploads_importbatch_rejected", args=[batch.pk]))
    assert "row 5: sex: 'Q' is not one of" in b"".join(rejected.streaming_content).decode("utf-8-sig")
    response = client.post(reverse("admin:uploads_importbatch_request_commit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.state == BatchState.AWAITING_APPROVAL and batch.task is not None


def test_upload_errors_are_shown_not_raised(client, maker, household_plan):
    _login(client, maker)
    response = _post(client, household_plan, SimpleUploadedFile("people.pdf", b"%PDF-1.4"))
    assert response.status_code == 200
    assert "people.pdf: upload a .csv, .tsv or .xlsx file" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_other_plans_batches_are_hidden_and_forged_posts_refused(
    client, maker, south_officer, household_plan
):
    from tests.uploads.conftest import upload

    batch = upload(maker, household_plan, csv_bytes(household_rows()))
    _login(client, south_officer)
    assert client.get(reverse("admin:uploads_importbatch_change", args=[batch.pk])).status_code == 404
    response = client.post(reverse("admin:uploads_importbatch_request_commit", args=[batch.pk]))
    assert response.status_code == 404
    assert client.get(reverse("admin:uploads_importbatch_rejected", args=[batch.pk])).status_code == 404
    batch.refresh_from_db()
    assert batch.state == BatchState.VALIDATED and batch.task is None


def test_the_add_url_leads_to_the_import_screen(client, maker, household_plan):
    _login(client, maker)
    response = client.get(reverse("admin:uploads_importbatch_add") + f"?plan={household_plan.pk}")
    assert response.status_code == 302
    assert response.url == reverse("admin:uploads_importbatch_import") + f"?plan={household_plan.pk}"
    page = client.get(response.url).content.decode()
    assert f'<option value="{household_plan.pk}" selected>' in page
