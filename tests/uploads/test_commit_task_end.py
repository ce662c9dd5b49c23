"""An upload follows the end of its commit task through `task_ended` (uploads.receivers), not a page view."""

from __future__ import annotations

from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import Task, TaskState
from approvals.services import task_approve, task_cancel, task_reject
from approvals.signals import task_ended
from tests.uploads.conftest import csv_bytes, household_rows, upload
from uploads.models import BatchState, ImportBatch
from uploads.services import batch_commit_request


def _awaiting(maker, plan) -> tuple[ImportBatch, Task]:  # type: ignore[no-untyped-def]
    batch = upload(maker, plan, csv_bytes(household_rows()))
    task = batch_commit_request(batch=batch, user=maker)
    return ImportBatch.objects.get(pk=batch.pk), task


def _state(batch: ImportBatch) -> str:
    return ImportBatch.objects.values_list("state", flat=True).get(pk=batch.pk)


def test_a_cancelled_commit_returns_the_batch_to_validated(
    maker, household_plan, django_capture_on_commit_callbacks
):
    batch, task = _awaiting(maker, household_plan)
    with django_capture_on_commit_callbacks(execute=True):
        task_cancel(task=task, user=maker)
        assert _state(batch) == BatchState.AWAITING_APPROVAL  # only once the cancellation committed
    assert _state(batch) == BatchState.VALIDATED
    # Validated again, it may be requested again: a new task.
    again = batch_commit_request(batch=ImportBatch.objects.get(pk=batch.pk), user=maker)
    assert again.pk != task.pk and ImportBatch.objects.get(pk=batch.pk).task_id == again.pk


def test_a_failed_commit_waits_for_a_retry_or_a_cancel_and_its_page_says_why(
    client, maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    from registry.models import IdentityDocument, Individual, Location

    batch, task = _awaiting(maker, household_plan)
    other = Individual.objects.create(
        given_name="X", family_name="Y", sex="F", location=Location.objects.get(code="N-A")
    )
    IdentityDocument.objects.create(individual=other, doc_type="national_id", value="ID2")
    with django_capture_on_commit_callbacks(execute=True):
        task_approve(task=task, user=checker)
    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert _state(batch) == BatchState.AWAITING_APPROVAL  # an approver may still retry it
    client.force_login(maker)
    page = client.get(reverse("admin:uploads_importbatch_change", args=[batch.pk])).content.decode()
    assert 'id="batch-commit-failed"' in page and "validate the upload again" in page

    with django_capture_on_commit_callbacks(execute=True):
        task_cancel(task=task, user=maker)
    batch.refresh_from_db()
    assert batch.state == BatchState.FAILED
    assert batch.error.startswith("The commit failed and nothing was stored: The registry changed")
    page = client.get(reverse("admin:uploads_importbatch_change", args=[batch.pk])).content.decode()
    assert 'id="validate-again"' in page


def test_the_receiver_is_idempotent_and_follows_only_the_batch_s_own_commit_task(
    maker, checker, household_plan, django_capture_on_commit_callbacks
):
    batch, task = _awaiting(maker, household_plan)
    with django_capture_on_commit_callbacks(execute=True):
        task_reject(task=task, user=checker, comment="Wrong district")
    assert _state(batch) == BatchState.VALIDATED
    task.refresh_from_db()
    saves = []

    def count(sender, instance, **kwargs):  # type: ignore[no-untyped-def]
        saves.append(instance.pk)

    post_save.connect(count, sender=ImportBatch, dispatch_uid="tests.batch_saves")
    try:
        # A second delivery of the same end changes nothing.
        task_ended.send(sender=Task, task=task, action=task.action, outcome=TaskState.REJECTED)
        assert saves == []
        # A batch awaiting a newer task does not follow the end of an older one.
        newer = batch_commit_request(batch=ImportBatch.objects.get(pk=batch.pk), user=maker)
        saves.clear()
        task_ended.send(sender=Task, task=task, action=task.action, outcome=TaskState.REJECTED)
        assert saves == [] and _state(batch) == BatchState.AWAITING_APPROVAL
        # Another action's end on the same id is not the upload's business.
        task_ended.send(sender=Task, task=newer, action="programs.enrol", outcome=TaskState.REJECTED)
        assert saves == [] and _state(batch) == BatchState.AWAITING_APPROVAL
    finally:
        post_save.disconnect(dispatch_uid="tests.batch_saves")


def test_viewing_a_batch_whose_task_ended_unheard_changes_nothing(client, maker, household_plan):
    """The page no longer syncs the batch with its task: a GET is a read."""
    batch, task = _awaiting(maker, household_plan)
    Task.objects.filter(pk=task.pk).update(state=TaskState.REJECTED)  # ended, no signal sent
    client.force_login(maker)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:uploads_importbatch_change", args=[batch.pk]))
    assert response.status_code == 200
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert _state(batch) == BatchState.AWAITING_APPROVAL
