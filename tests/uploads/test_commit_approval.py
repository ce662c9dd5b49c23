"""The commit goes through maker-checker: counts and a sample for the checker, then one transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.actions import action_get
from approvals.models import TaskState
from programs.models import Beneficiary
from registry.models import (
    Household,
    HouseholdMember,
    IdentityDocument,
    Individual,
    Location,
    RegistrationSource,
)
from tests.uploads.conftest import approve, csv_bytes, household_rows, upload
from uploads.models import BatchState
from uploads.services import batch_commit_request


def test_checker_sees_counts_and_sample_then_approval_commits(
    maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    rows = household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    rows.append(["Bad", "Row", "Q", "1990-01-01", "N-A", "ID7", "H3", "head", "", "", ""])
    batch = upload(maker, household_plan, csv_bytes(rows))
    task = batch_commit_request(batch=batch, user=maker)
    batch.refresh_from_db()
    assert batch.state == BatchState.AWAITING_APPROVAL and task.state == TaskState.PENDING
    description = action_get("uploads.commit").describe(target=batch, payload=task.payload)
    assert description.count == 6
    assert "6 new individuals" in description.summary and "2 new households" in description.summary
    assert "1 rows with errors" in description.summary
    assert description.sample[0].startswith("Row 2: Amina Diallo")
    assert Individual.objects.count() == 0

    task = approve(task, checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.EXECUTED, task.error
    batch.refresh_from_db()
    assert batch.state == BatchState.COMMITTED
    assert Individual.objects.filter(registration_source=RegistrationSource.UPLOAD).count() == 6
    assert Household.objects.count() == 2
    h1 = Household.objects.get(code="H1")
    assert h1.size == 3 and h1.data == {"monthly_income": 1200}
    head = HouseholdMember.objects.get(household=h1, role="head")
    assert head.is_primary_recipient and head.individual.given_name == "Amina"
    assert head.individual.data == {"education": "primary"}
    assert IdentityDocument.objects.filter(doc_type="national_id").count() == 6
    assert Beneficiary.objects.filter(benefit_plan=household_plan, household__isnull=False).count() == 2
    # The new rows became consecutive people, in file order.
    assert batch.first_individual_id == head.individual_id
    assert Individual.objects.get(pk=batch.first_individual_id + 5).given_name == "Fatou"


def test_maker_cannot_approve_own_commit(maker, household_plan):
    from approvals.services import task_approve

    batch = upload(maker, household_plan, csv_bytes(household_rows()))
    task = batch_commit_request(batch=batch, user=maker)
    with pytest.raises(ValidationError, match="maker cannot approve"):
        task_approve(task=task, user=maker)
    assert Individual.objects.count() == 0


def test_rejected_task_returns_batch_to_validated(
    maker, checker, household_plan, django_capture_on_commit_callbacks
):
    from approvals.services import task_reject

    batch = upload(maker, household_plan, csv_bytes(household_rows()))
    task = batch_commit_request(batch=batch, user=maker)
    with django_capture_on_commit_callbacks(execute=True):
        task_reject(task=task, user=checker, comment="Wrong district")
    batch.refresh_from_db()
    assert batch.state == BatchState.VALIDATED
    assert Individual.objects.count() == 0


def test_failing_commit_leaves_nothing(
    maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    """A household code taken after validation breaks the commit mid-way: nothing of the batch remains."""
    batch = upload(
        maker,
        household_plan,
        csv_bytes(household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))),
    )
    task = batch_commit_request(batch=batch, user=maker)
    other = Individual.objects.create(
        given_name="X", family_name="Y", sex="F", location=Location.objects.get(code="N-A")
    )
    IdentityDocument.objects.create(individual=other, doc_type="national_id", value="ID5")
    task = approve(task, checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.FAILED
    assert "validate the upload again" in task.error
    assert (
        Individual.objects.count() == 1
        and Household.objects.count() == 0
        and HouseholdMember.objects.count() == 0
    )
    assert Beneficiary.objects.count() == 0
    batch.refresh_from_db()
    # The task may still be retried by an approver: the batch waits. Its maker cancels it to validate again.
    assert batch.state == BatchState.AWAITING_APPROVAL
    from approvals.services import task_cancel

    with django_capture_on_commit_callbacks(execute=True):
        task_cancel(task=task, user=maker)
    batch.refresh_from_db()
    assert batch.state == BatchState.FAILED and "nothing was stored" in batch.error
    assert "validate the upload again" in batch.error


def test_individual_plan_enrols_each_person_with_plan_data(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    header = [
        "given_name",
        "family_name",
        "sex",
        "birth_date",
        "location_code",
        "national_id",
        "plan.vulnerability",
        "plan.score",
    ]
    rows = [
        ["Ali", "Ba", "M", "1950-02-03", "N-A", "A1", "high", "80"],
        ["Awa", "Ba", "F", "1952-05-06", "N-B", "A2", "low", "10"],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=header))
    assert batch.new_rows == 2, batch.error
    task = approve(batch_commit_request(batch=batch, user=maker), checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.EXECUTED, task.error
    ali = Beneficiary.objects.get(benefit_plan=individual_plan, individual__given_name="Ali")
    assert ali.data == {"vulnerability": "high", "score": 80} and ali.location.code == "N-A"
    assert Household.objects.count() == 0


def test_fixed_member_uploaded_later_joins_the_committed_household(
    maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    rows = household_rows("H1")
    rows[2][3] = "2012-13-40"  # the child's birth date is wrong: that row waits, the rest is committed
    first = upload(maker, household_plan, csv_bytes(rows))
    assert (first.new_rows, first.error_rows) == (2, 1)
    approve(batch_commit_request(batch=first, user=maker), checker, django_capture_on_commit_callbacks)
    household = Household.objects.get(code="H1")
    assert household.size == 2

    rows[2][3] = "2012-09-30"
    second = upload(maker, household_plan, csv_bytes([rows[2]]))
    assert (second.new_rows, second.new_households, second.error_rows) == (1, 0, 0)
    task = approve(
        batch_commit_request(batch=second, user=maker), checker, django_capture_on_commit_callbacks
    )
    assert task.state == TaskState.EXECUTED, task.error
    household.refresh_from_db()
    assert household.size == 3
    child = HouseholdMember.objects.get(household=household, role="child")
    assert child.individual.given_name == "Fatou" and not child.is_primary_recipient
    assert Beneficiary.objects.filter(benefit_plan=household_plan).count() == 1


def test_second_head_for_a_committed_household_is_refused(
    maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    first = upload(maker, household_plan, csv_bytes(household_rows("H1")))
    approve(batch_commit_request(batch=first, user=maker), checker, django_capture_on_commit_callbacks)
    intruder = [["Ali", "Diallo", "M", "1960-01-01", "N-A", "ID99", "H1", "head", "yes", "", ""]]
    second = upload(maker, household_plan, csv_bytes(intruder))
    from uploads.models import StagedError

    messages = set(StagedError.objects.filter(batch_id=second.pk).values_list("message", flat=True))
    assert messages == {
        "Household H1 already has a head in the registry.",
        "Household H1 already has a primary recipient in the registry.",
    }
