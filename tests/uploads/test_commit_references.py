"""What the registry lost between validation and commit is refused whole, naming what vanished, before the
database's FK constraints would refuse it with a bare constraint error."""

from __future__ import annotations

from approvals.models import TaskState
from programs.models import Beneficiary
from registry.models import Household, HouseholdMember, IdentityDocument, Individual, Location
from tests.uploads.conftest import approve, csv_bytes, household_rows, upload
from tests.uploads.test_duplicates import HEADER, _person
from uploads.models import DuplicateMode
from uploads.services import batch_commit_request


def test_members_of_a_household_deleted_since_validation_are_refused_and_nothing_is_stored(
    maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    rows = household_rows("H1")
    first = upload(maker, household_plan, csv_bytes(rows[:2]))
    approve(batch_commit_request(batch=first, user=maker), checker, django_capture_on_commit_callbacks)
    second = upload(maker, household_plan, csv_bytes([rows[2]]))  # the child joins the committed H1
    assert (second.new_rows, second.new_households) == (1, 0)
    task = batch_commit_request(batch=second, user=maker)
    household = Household.objects.get(code="H1")
    Beneficiary.objects.filter(household=household).delete()
    household.delete()  # cascades its members (in Django), as the admin would
    people = Individual.objects.count()

    task = approve(task, checker, django_capture_on_commit_callbacks)

    assert task.state == TaskState.FAILED
    assert "1 people of this upload join households that were deleted" in task.error
    assert "validate the upload again" in task.error
    assert Individual.objects.count() == people and HouseholdMember.objects.count() == 0


def test_a_person_deleted_since_validation_fails_an_updating_upload_whole(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    awa = _person("Awa", "Ba", national_id="X1")
    rows = [
        ["Awa", "Ba-Diop", "F", "1981-02-03", "N-B", "X1", "", ""],
        ["Ali", "Sow", "M", "1975-04-05", "N-A", "X2", "", ""],
    ]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert (batch.new_rows, batch.update_rows) == (1, 1)
    task = batch_commit_request(batch=batch, user=maker)
    awa.delete()

    task = approve(task, checker, django_capture_on_commit_callbacks)

    assert task.state == TaskState.FAILED
    assert "1 of the people this upload updates were deleted" in task.error
    assert not Individual.objects.filter(family_name="Sow").exists()
    assert not IdentityDocument.objects.filter(value__in=["X1", "X2"]).exists()


def test_a_location_deleted_since_validation_is_named_by_row_and_nothing_is_stored(
    tree, maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    village = Location.objects.create(code="N-A-V1", name="Village 1", parent=tree.north_a)
    rows = household_rows("H1") + household_rows("H2", location="N-A-V1", ids=("ID4", "ID5", "ID6"))
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert (batch.new_rows, batch.error_rows) == (6, 0)
    task = batch_commit_request(batch=batch, user=maker)
    village.delete()  # nobody lived there yet: Django and the database allow it

    task = approve(task, checker, django_capture_on_commit_callbacks)

    assert task.state == TaskState.FAILED
    assert "1 of the locations this upload names were deleted" in task.error
    assert "row 5 (location_code N-A-V1)" in task.error and "row 7 (location_code N-A-V1)" in task.error
    assert "validate the upload again" in task.error
    assert not Individual.objects.exists() and not Household.objects.exists()
