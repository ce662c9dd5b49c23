"""Exports: CSV streamed and XLSX, custom fields as columns, formulas neutralised, scope, background jobs."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from files import spreadsheets
from jobs.models import Job, JobState
from registry import exports
from registry.filters import individual_filterset
from registry.services import household_member_add

IMMEDIATE_TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
}


def export_url(dataset: str = "individual", file_format: str = "csv") -> str:
    return reverse("admin:registry_export", args=[dataset, file_format])


@pytest.fixture
def registry_rows(tree, make_individual, make_household):
    household = make_household(
        tree.north_a, code="HH-1", data={"water_source": "well", "monthly_income": 120}
    )
    ada = make_individual(
        tree.north_a,
        given_name='=HYPERLINK("http://evil")',
        family_name="+Plus",
        other_names="@SUM(A1)",
        phone="-1+2",
        sex="F",
        birth_date=date(1990, 1, 2),
        documents=[("national_id", "NID-1")],
        data={"disability": True, "education": "tertiary", "school_attendance": 0.75},
    )
    household_member_add(household=household, individual=ada, role="head", is_primary_recipient=True)
    make_individual(tree.north_b, given_name="Bob", family_name="Tab", other_names="\tcmd", sex="M")
    make_individual(tree.south, given_name="Sue", family_name="South", sex="F")
    return household


def read_csv(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_streams_with_custom_fields_and_neutralised_cells(client, maker, registry_rows):
    client.force_login(maker)
    response = client.get(export_url(), {"sort": "id"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = read_csv(response)
    assert list(rows[0])[:3] == ["id", "given_name", "family_name"]
    assert {"national_id", "household_code", "household_role", "location_code", "location_name"} <= set(
        rows[0]
    )
    assert list(rows[0])[-5:] == [
        "disability",
        "education",
        "occupation",
        "chronic_illness",
        "school_attendance",
    ]
    ada, bob = rows
    assert ada["given_name"] == '\'=HYPERLINK("http://evil")'
    assert ada["family_name"] == "'+Plus"
    assert ada["other_names"] == "'@SUM(A1)"
    assert ada["phone"] == "'-1+2"
    assert bob["other_names"] == "'\tcmd"
    assert (ada["national_id"], ada["household_code"], ada["household_role"]) == ("NID-1", "HH-1", "head")
    assert (ada["location_code"], ada["location_name"]) == ("N-A", "North A")
    assert (ada["disability"], ada["education"], ada["school_attendance"]) == ("True", "tertiary", "0.75")
    assert (bob["household_code"], bob["disability"]) == ("", "")


def test_csv_follows_the_filters_and_the_scope(client, south_officer, maker, registry_rows):
    client.force_login(maker)
    assert [r["given_name"] for r in read_csv(client.get(export_url(), {"sex": "M"}))] == ["Bob"]
    client.force_login(south_officer)
    assert [r["given_name"] for r in read_csv(client.get(export_url()))] == ["Sue"]


def test_malformed_search_is_not_exported(client, maker, registry_rows):
    client.force_login(maker)
    response = client.get(export_url(), {"age_min": "9", "age_max": "1"})
    assert response.status_code == 400
    assert "correct them before exporting" in response.content.decode()
    assert not Job.objects.exists()
    assert client.get(export_url(file_format="pdf")).status_code == 404


def test_xlsx_export(client, maker, registry_rows):
    client.force_login(maker)
    response = client.get(export_url(file_format="xlsx"))
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == exports.FORMATS["xlsx"][0]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert "school_attendance" in headers and "national_id" in headers
    ada = dict(zip(headers, rows[1], strict=True))
    assert ada["given_name"] == '=HYPERLINK("http://evil")'  # no visible apostrophe
    assert sheet.cell(row=2, column=2).data_type == "s"  # a string, not a formula
    assert sheet.cell(row=2, column=2).quotePrefix  # and stays text when edited
    assert ada["school_attendance"] == 0.75 and ada["disability"] is True
    assert len(rows) == 3  # header, Ada, Bob: never the South


def test_household_export(client, maker, registry_rows):
    client.force_login(maker)
    rows = read_csv(client.get(export_url("household")))
    assert len(rows) == 1
    row = rows[0]
    assert (row["code"], row["size"], row["water_source"], row["monthly_income"]) == (
        "HH-1",
        "1",
        "well",
        "120",
    )
    assert row["head"] == '\'=HYPERLINK("http://evil") +Plus'


def test_export_reads_in_chunks_with_a_fixed_number_of_queries(monkeypatch, maker, tree, make_individual):
    for i in range(9):
        make_individual(tree.north_a, given_name=f"P{i}")
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    filterset = individual_filterset({}, user=maker)
    with CaptureQueriesContext(connection) as captured:
        rows = list(exports.export_rows("individual", filterset.qs, filterset.schema))
    assert [r[1] for r in rows] == [f"P{i}" for i in range(9)]
    assert len(captured) == 5 * 3 + 1  # five chunks of three queries, and the empty one that ends it
    assert not [q for q in captured.captured_queries if "OFFSET" in q["sql"].upper()]


# Background exports


@pytest.fixture
def immediate_tasks(settings, tmp_path):
    settings.TASKS = IMMEDIATE_TASKS
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_large_export_runs_as_a_job_only_its_owner_downloads(
    client, settings, immediate_tasks, maker, checker, registry_rows, django_capture_on_commit_callbacks
):
    settings.REGISTRY_EXPORT_SYNC_LIMIT = 0
    client.force_login(maker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(export_url(), {"sex": "F"})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:registry_export_job", args=[job.pk])
    assert (job.state, job.created_by, job.total, job.done) == (JobState.SUCCEEDED, maker, 1, 1)
    assert job.result["rows"] == 1
    page = client.get(response["Location"])
    download = reverse("admin:registry_export_download", args=[job.pk])
    assert download in page.content.decode()
    file_response = client.get(download)
    assert file_response.status_code == 200
    text = b"".join(file_response.streaming_content).decode("utf-8-sig")
    assert "NID-1" in text and "Bob" not in text
    assert (immediate_tasks / "exports" / job.result["file"]).is_file()

    client.force_login(checker)  # same region, not the owner
    assert client.get(download).status_code == 404
    assert client.get(response["Location"]).status_code == 404


def test_background_on_request_xlsx_and_scope(
    client, immediate_tasks, south_officer, registry_rows, django_capture_on_commit_callbacks
):
    client.force_login(south_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(export_url(file_format="xlsx"), {"background": "1"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.state == JobState.SUCCEEDED
    file_response = client.get(reverse("admin:registry_export_download", args=[job.pk]))
    rows = list(
        load_workbook(io.BytesIO(b"".join(file_response.streaming_content))).active.iter_rows(
            values_only=True
        )
    )
    assert [row[1] for row in rows[1:]] == ["Sue"]


def test_job_page_shows_progress_until_done(client, maker, registry_rows):
    client.force_login(maker)
    job = Job.objects.create(
        kind="registry.tasks.registry_export_task",
        label="Export",
        created_by=maker,
        state=JobState.RUNNING,
        done=10,
        total=100,
    )
    html = client.get(reverse("admin:registry_export_job", args=[job.pk])).content.decode()
    assert reverse("admin:jobs_job_progress", args=[job.pk]) in html
    assert "jobs/progress.js" in html
    assert client.get(reverse("admin:registry_export_download", args=[job.pk])).status_code == 404
    other = Job.objects.create(
        kind="fixtures.tasks.other",
        label="Other",
        created_by=maker,
        state=JobState.SUCCEEDED,
        result={"file": "x.csv"},
    )
    assert client.get(reverse("admin:registry_export_download", args=[other.pk])).status_code == 404


def test_xlsx_goes_to_the_background_sooner(
    client, settings, immediate_tasks, maker, registry_rows, django_capture_on_commit_callbacks
):
    settings.REGISTRY_EXPORT_SYNC_LIMIT = 5  # CSV up to 5 rows at once, XLSX up to 1
    client.force_login(maker)
    assert isinstance(client.get(export_url()), StreamingHttpResponse)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(export_url(file_format="xlsx"))
    assert response.status_code == 302
    assert Job.objects.get().state == JobState.SUCCEEDED


def test_sparse_chunks_read_by_id_list(monkeypatch, south_officer, tree, make_individual, make_household):
    """A user whose rows are spread thinly over the table: extras are read by id list, and still right."""
    people = []
    for i in range(20):
        location = tree.south if i % 10 == 0 else tree.north_a
        household = make_household(location)
        person = make_individual(location, given_name=f"P{i}", documents=[("national_id", f"NID-{i}")])
        household_member_add(household=household, individual=person, role="head")
        people.append(person)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 1000)
    filterset = individual_filterset({}, user=south_officer)
    with CaptureQueriesContext(connection) as captured:
        rows = list(exports.export_rows("individual", filterset.qs, filterset.schema))
    assert [(r[1], r[13]) for r in rows] == [("P0", "NID-0"), ("P10", "NID-10")]
    assert all(r[14].startswith("HH-") and r[15] == "head" for r in rows)
    assert [
        q
        for q in captured.captured_queries
        if "registry_identitydocument" in q["sql"] and " IN (" in q["sql"]
    ]


def test_a_job_given_a_broken_search_fails_with_the_reason(
    immediate_tasks, maker, django_capture_on_commit_callbacks
):
    from jobs.services import job_start
    from registry.tasks import registry_export_task

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            task=registry_export_task,
            label="Export",
            user=maker,
            args=(maker.pk, "individual", "age_min=9&age_max=1", "csv"),
        )
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "lower bound" in job.message
    assert not (immediate_tasks / "exports").exists() or not any((immediate_tasks / "exports").iterdir())


def test_export_needs_login_and_the_registry_permission(client, tree):
    from tests.conftest import make_user

    assert client.get(export_url()).status_code == 302
    client.force_login(make_user("nobody"))
    assert client.get(export_url()).status_code == 403
    assert client.get(export_url("household", "xlsx")).status_code == 403


def test_csv_is_sent_piece_by_piece(client, monkeypatch, maker, registry_rows):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 1)
    monkeypatch.setattr(spreadsheets, "ROWS_PER_PIECE", 1)
    client.force_login(maker)
    pieces = list(client.get(export_url()).streaming_content)
    assert len(pieces) == 3  # the header, then one piece per chunk of rows (Ada, Bob)
    assert pieces[0].decode("utf-8-sig").startswith("id,given_name")
