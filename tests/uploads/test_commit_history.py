"""People an upload updates get history rows (before and after, who and which batch); the auditor sees both."""

from __future__ import annotations

from datetime import date

from registry.models import IdentityDocument, Individual, Location
from tests.uploads.conftest import approve, csv_bytes, upload
from tests.uploads.test_duplicates import HEADER, _person
from uploads.models import DuplicateMode
from uploads.services import batch_commit_request


def _commit_update(maker, checker, plan, capture, rows):
    batch = upload(maker, plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE)
    task = approve(batch_commit_request(batch=batch, user=maker), checker, capture)
    assert task.state == "executed", task.error
    return batch, task


def test_an_updated_person_gets_an_after_row_naming_the_maker_batch_and_task(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    existing = _person("Awa", "Ba", national_id="X1")  # created through the ORM: one '+' history row
    assert existing.history.count() == 1
    rows = [["Awa", "Ba-Diop", "F", "1981-02-03", "N-B", "X1", "", ""]]
    batch, task = _commit_update(maker, checker, individual_plan, django_capture_on_commit_callbacks, rows)

    history = list(existing.history.order_by("history_id"))
    assert [row.history_type for row in history] == ["+", "~"]
    before, after = history
    assert (before.family_name, before.birth_date) == ("Ba", date(1970, 1, 1))
    assert (after.family_name, after.birth_date, after.location.code) == ("Ba-Diop", date(1981, 2, 3), "N-B")
    assert after.history_user == maker
    assert after.history_change_reason == f"Updated by upload batch #{batch.pk}, approved in task #{task.pk}"
    # The admin's history page lists the change with its diff against the previous row.
    assert after.diff_against(before).changed_fields == ["birth_date", "family_name", "location"]


def test_a_person_without_history_gets_their_earlier_state_recorded_first(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    # Bulk writes (the generator, an earlier upload) leave no history row.
    [existing] = Individual.objects.bulk_create(
        [
            Individual(
                given_name="Binta",
                family_name="Sow",
                sex="F",
                birth_date=date(1960, 5, 5),
                location=Location.objects.get(code="N-A"),
            )
        ]
    )
    IdentityDocument.objects.bulk_create(
        [IdentityDocument(individual=existing, doc_type="national_id", value="X2")]
    )
    assert existing.history.count() == 0
    rows = [["Binta", "Sow-Kane", "F", "1960-05-05", "N-A", "X2", "", ""]]
    batch, _ = _commit_update(maker, checker, individual_plan, django_capture_on_commit_callbacks, rows)

    before, after = existing.history.order_by("history_id")
    assert before.family_name == "Sow" and before.history_user is None
    assert before.history_change_reason == f"As it was before upload batch #{batch.pk}"
    assert after.family_name == "Sow-Kane" and after.history_user == maker


def test_new_people_of_an_upload_get_no_history_rows_the_batch_is_their_record(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    rows = [["Coumba", "Fall", "F", "1990-01-01", "N-A", "X3", "", ""]]
    batch, _ = _commit_update(maker, checker, individual_plan, django_capture_on_commit_callbacks, rows)
    batch.refresh_from_db()
    person = Individual.objects.get(pk=batch.first_individual_id)
    assert person.family_name == "Fall"
    assert person.history.count() == 0


def test_the_person_page_says_which_upload_registered_them(
    client, maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks, admin_user
):
    rows = [
        ["Coumba", "Fall", "F", "1990-01-01", "N-A", "X3", "", ""],
        ["Dieynaba", "Fall", "F", "1992-01-01", "N-A", "X4", "", ""],
    ]
    batch, task = _commit_update(maker, checker, individual_plan, django_capture_on_commit_callbacks, rows)
    batch.refresh_from_db()
    client.force_login(admin_user)
    for person in Individual.objects.filter(
        pk__in=[batch.first_individual_id, batch.first_individual_id + 1]
    ):
        page = client.get(f"/admin/registry/individual/{person.pk}/change/").content.decode()
        assert f"Upload batch #{batch.pk} (people.csv, plan OLDAGE), uploaded by {maker.username}" in page
        assert f"after approval task #{task.pk} (approved by {checker.username})" in page
    manual = _person("Awa", "Ba")
    page = client.get(f"/admin/registry/individual/{manual.pk}/change/").content.decode()
    assert "Upload batch #" not in page and "See the History page" in page


def test_new_people_keep_their_file_order_ids_across_rejected_rows_and_each_finds_its_batch(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    from uploads.selectors import individual_upload_record

    rows = [
        ["Coumba", "Fall", "F", "1990-01-01", "N-A", "X3", "", ""],
        ["Bad", "Sex", "Q", "1990-01-01", "N-A", "X5", "", ""],  # rejected: its id stays unused
        ["Dieynaba", "Fall", "F", "1992-01-01", "N-A", "X4", "", ""],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert (batch.new_rows, batch.error_rows) == (2, 1)
    approve(batch_commit_request(batch=batch, user=maker), checker, django_capture_on_commit_callbacks)
    batch.refresh_from_db()
    first, last = batch.first_individual_id, batch.last_individual_id
    assert last == first + 2
    assert list(Individual.objects.filter(pk__gte=first).order_by("pk").values_list("pk", "given_name")) == [
        (first, "Coumba"),
        (last, "Dieynaba"),
    ]
    later = _person("Awa", "Ba")
    assert later.pk > last
    assert f"Upload batch #{batch.pk}" in individual_upload_record(individual_id=last)
    assert individual_upload_record(individual_id=later.pk) is None
