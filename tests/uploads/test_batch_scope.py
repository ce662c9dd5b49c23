"""Who sees a batch, its rejected and skipped rows and its file: those who see its plan and its whole area
(the uploader's locations); everyone else gets 404, the anonymous the login page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from access.roles import PROGRAMME_OFFICER, REGISTRY_OFFICER
from tests.conftest import make_user
from tests.uploads.conftest import csv_bytes, household_rows, upload
from uploads.models import BatchState, ImportBatch
from uploads.selectors import batch_list
from uploads.services import batch_commit_request

OFFICER = (REGISTRY_OFFICER, PROGRAMME_OFFICER)
DOWNLOADS = [
    "admin:uploads_importbatch_change",
    "admin:uploads_importbatch_rejected",
    "admin:uploads_importbatch_file",
]


@pytest.fixture
def officers(tree, household_plan) -> dict:
    """Two district officers of North (A and B) and a national officer, all managing the plan."""
    people = {
        "officer_a": make_user("officer_a", roles=OFFICER, locations=(tree.north_a,)),
        "officer_b": make_user("officer_b", roles=OFFICER, locations=(tree.north_b,)),
        "national": make_user("national", roles=OFFICER, locations=(tree.north, tree.south)),
    }
    for user in people.values():
        assign_perm("programs.manage_beneficiaries", user, household_plan)
        assign_perm("programs.view_benefitplan", user, household_plan)
    return people


def _rows_with_problems() -> bytes:
    rows = household_rows("H1")
    rows.append(["Bad", "Row", "Q", "1990-01-01", "N-A", "ID9", "H9", "head", "", "", ""])  # rejected
    rows.append(["Amina", "Diallo", "F", "1980-04-02", "N-A", "ID1", "H1", "head", "", "", ""])  # skipped
    return csv_bytes(rows)


def _answer(client, user, name: str, batch: ImportBatch) -> int:
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(reverse(name, args=[batch.pk]))
    if response.streaming:
        b"".join(response.streaming_content)  # read to its end: the test client then closes it
    return response.status_code


def test_each_actor_gets_the_batch_pages_and_files_of_a_district_upload_or_404(
    client, officers, maker, checker, auditor, admin_user, household_plan
):
    batch = upload(officers["officer_a"], household_plan, _rows_with_problems())
    assert (batch.error_rows, batch.skipped_rows) == (1, 1)
    expected = {
        "officer_a": 200,  # the uploader
        "national": 200,
        "maker": 200,  # North covers North A
        "checker": 200,  # an approver of North
        "auditor": 200,
        "root": 200,  # superuser
        "officer_b": 404,  # the other district
        None: 302,  # anonymous: to the login page
    }
    actors = {**officers, "maker": maker, "checker": checker, "auditor": auditor, "root": admin_user}
    for who, answer in expected.items():
        user = actors[who] if who else None
        for name in DOWNLOADS:
            assert _answer(client, user, name, batch) == answer, (who, name)
    listed = {who for who, user in actors.items() if batch_list(user=user).filter(pk=batch.pk).exists()}
    assert listed == {who for who, answer in expected.items() if answer == 200}


def test_a_regional_upload_is_hidden_from_the_districts_under_it(
    client, officers, maker, auditor, household_plan
):
    batch = upload(maker, household_plan, _rows_with_problems())  # maker works in all of North
    for name in DOWNLOADS:
        assert _answer(client, officers["officer_a"], name, batch) == 404
        assert _answer(client, officers["national"], name, batch) == 200
    client.force_login(officers["officer_a"])
    assert (
        f"/{batch.pk}/change/"
        not in client.get(reverse("admin:uploads_importbatch_changelist")).content.decode()
    )
    for name in ("admin:uploads_importbatch_request_commit", "admin:uploads_importbatch_validate"):
        assert client.post(reverse(name, args=[batch.pk])).status_code == 404
    batch.refresh_from_db()
    assert batch.state == BatchState.VALIDATED and batch.task is None


def test_the_original_file_comes_only_through_the_scoped_view(client, officers, household_plan):
    content = _rows_with_problems()
    batch = upload(officers["officer_a"], household_plan, content, name="district a.csv")
    client.force_login(officers["national"])
    response = client.get(reverse("admin:uploads_importbatch_file", args=[batch.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert "no-store" in response["Cache-Control"]
    page = client.get(reverse("admin:uploads_importbatch_change", args=[batch.pk])).content.decode()
    assert reverse("admin:uploads_importbatch_file", args=[batch.pk]) in page
    assert batch.file.url not in page


def test_the_commit_task_is_seen_by_the_batch_viewers_only(client, officers, checker, household_plan):
    batch = upload(officers["officer_a"], household_plan, _rows_with_problems())
    task = batch_commit_request(batch=batch, user=officers["officer_a"])
    url = reverse("admin:approvals_task_change", args=[task.pk])
    client.force_login(checker)
    assert client.get(url).status_code == 200
    client.force_login(officers["officer_b"])
    assert client.get(url).status_code == 404


def test_a_batch_keeps_the_area_it_was_validated_in(officers, household_plan, tree, administrator):
    batch = upload(officers["officer_a"], household_plan, _rows_with_problems())
    assert set(batch.areas.values_list("code", flat=True)) == {"N-A"}
    everywhere = upload(administrator, household_plan, _rows_with_problems())
    assert set(everywhere.areas.values_list("code", flat=True)) == {"N", "S"}
    assert not batch_list(user=officers["officer_b"]).filter(pk=everywhere.pk).exists()
    assert batch_list(user=officers["national"]).filter(pk=everywhere.pk).exists()


def test_batches_from_before_the_migration_get_their_uploaders_area(officers, household_plan, administrator):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("uploads.migrations.0005_batch_areas")
    district = upload(officers["officer_a"], household_plan, _rows_with_problems())
    everywhere = upload(administrator, household_plan, _rows_with_problems())
    ImportBatch.areas.through.objects.all().delete()
    assert not batch_list(user=officers["national"]).exists()
    migration.areas_from_uploaders(apps, None)
    assert set(district.areas.values_list("code", flat=True)) == {"N-A"}
    assert set(everywhere.areas.values_list("code", flat=True)) == {"N", "S"}
    assert set(batch_list(user=officers["national"])) == {district, everywhere}
