"""A valid file is streamed into staging and counted; nothing reaches the registry before the commit."""

from __future__ import annotations

from registry.models import Household, Individual
from tests.uploads.conftest import csv_bytes, household_rows, upload
from uploads.models import BatchState, RowStatus, StagedRow


def test_valid_household_file_is_validated_and_counted(maker, household_plan):
    batch = upload(
        maker,
        household_plan,
        csv_bytes(household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))),
    )
    assert batch.state == BatchState.VALIDATED, batch.error
    assert (batch.total_rows, batch.new_rows, batch.error_rows, batch.new_households) == (6, 6, 0, 2)
    assert Individual.objects.count() == 0 and Household.objects.count() == 0
    staged = StagedRow.objects.get(batch_id=batch.pk, row_number=2)
    assert (staged.given_name, staged.sex, str(staged.birth_date), staged.status) == (
        "Amina",
        "F",
        "1980-04-02",
        RowStatus.NEW,
    )
    assert staged.ind_data == '{"education": "primary"}'
    assert staged.hh_data == '{"monthly_income": 1200}'


def test_validation_runs_as_a_background_job_with_progress(
    maker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jobs.models import JobState
    from uploads.services import batch_create

    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_create(
            user=maker, plan=household_plan, file=SimpleUploadedFile("p.csv", csv_bytes(household_rows()))
        )
    batch.refresh_from_db()
    job = batch.validation_job
    assert batch.state == BatchState.VALIDATED
    assert job.state == JobState.SUCCEEDED and job.created_by == maker
    assert (job.done, job.total) == (3, 3) and job.as_progress()["percent"] == 100
    assert "Validated in" in job.message
