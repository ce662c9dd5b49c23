"""Duplicates in the file and against the registry, under each mode; several matches are always an error."""

from __future__ import annotations

from datetime import date

from registry.models import IdentityDocument, Individual, Location
from tests.uploads.conftest import approve, csv_bytes, upload
from uploads.models import DuplicateMode, RowStatus, StagedError, StagedRow
from uploads.services import batch_commit_request

HEADER = [
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "location_code",
    "national_id",
    "voter_card",
    "ind.education",
]


def _person(
    given: str, family: str, *, birth: date = date(1970, 1, 1), national_id: str = "", voter_card: str = ""
) -> Individual:
    person = Individual.objects.create(
        given_name=given,
        family_name=family,
        sex="F",
        birth_date=birth,
        location=Location.objects.get(code="N-A"),
        data={"disability": True},
    )
    if national_id:
        IdentityDocument.objects.create(individual=person, doc_type="national_id", value=national_id)
    if voter_card:
        IdentityDocument.objects.create(individual=person, doc_type="voter_card", value=voter_card)
    return person


def _statuses(batch) -> dict[int, str]:
    return dict(StagedRow.objects.filter(batch_id=batch.pk).values_list("row_number", "status"))


def _messages(batch) -> dict[int, str]:
    return dict(StagedError.objects.filter(batch_id=batch.pk).values_list("row_number", "message"))


def test_same_document_twice_in_the_file(maker, individual_plan):
    rows = [
        ["Awa", "Ba", "F", "1980-01-01", "N-A", "X1", "", ""],
        ["Awa", "Bah", "F", "1980-01-02", "N-A", "X1", "", ""],
    ]
    skipped = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert _statuses(skipped) == {2: RowStatus.NEW, 3: RowStatus.SKIP}
    stopped = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.STOP
    )
    assert _messages(stopped) == {3: "Duplicate of row 2 of this file (same national_id)."}


def test_same_name_birth_date_and_location_in_the_file_is_a_possible_duplicate(maker, individual_plan):
    rows = [
        ["Awa", "Ba", "F", "1980-01-01", "N-A", "", "", ""],
        [" awa ", "BA", "F", "1980-01-01", "N-A", "", "", ""],
    ]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert _messages(batch) == {3: "Duplicate of row 2 of this file (same name, birth date and location)."}


def test_document_in_the_registry_under_each_mode(maker, individual_plan):
    existing = _person("Awa", "Ba", national_id="X1")
    rows = [
        ["Awa", "Ba-Diop", "F", "1981-02-03", "N-B", "X1", "", "tertiary"],
        ["New", "Person", "M", "1990-01-01", "N-A", "X2", "", ""],
    ]
    content = csv_bytes(rows, header=HEADER)

    skipped = upload(maker, individual_plan, content)
    assert _statuses(skipped) == {2: RowStatus.SKIP, 3: RowStatus.NEW}
    assert (skipped.skipped_rows, skipped.new_rows, skipped.duplicate_rows) == (1, 1, 1)

    stopped = upload(maker, individual_plan, content, duplicate_mode=DuplicateMode.STOP)
    assert _messages(stopped) == {
        2: f"Already in the registry as individual #{existing.pk} (same identity document)."
    }

    updated = upload(maker, individual_plan, content, duplicate_mode=DuplicateMode.UPDATE)
    assert _statuses(updated) == {2: RowStatus.UPDATE, 3: RowStatus.NEW}
    assert StagedRow.objects.get(batch_id=updated.pk, row_number=2).match_individual_id == existing.pk


def test_update_mode_commit_changes_the_existing_person(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    existing = _person("Awa", "Ba", national_id="X1")
    rows = [["Awa", "Ba-Diop", "F", "1981-02-03", "N-B", "X1", "V9", "tertiary"]]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    task = approve(batch_commit_request(batch=batch, user=maker), checker, django_capture_on_commit_callbacks)
    assert task.state == "executed", task.error
    existing.refresh_from_db()
    assert (existing.family_name, existing.birth_date, existing.location.code) == (
        "Ba-Diop",
        date(1981, 2, 3),
        "N-B",
    )
    assert existing.data == {"disability": True, "education": "tertiary"}
    assert set(existing.documents.values_list("doc_type", "value")) == {
        ("national_id", "X1"),
        ("voter_card", "V9"),
    }
    assert Individual.objects.count() == 1
    assert existing.beneficiaries.filter(benefit_plan=individual_plan).exists()


def test_possible_duplicate_in_the_registry_by_name(maker, individual_plan):
    existing = _person("Awa", "Ba", birth=date(1980, 1, 1))
    rows = [["AWA", "ba", "F", "1980-01-01", "N-A", "", "", ""]]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.STOP)
    assert _messages(batch) == {
        2: f"Possibly already in the registry as individual #{existing.pk} (same name, birth date and location)."
    }


def test_several_matches_are_an_error_whatever_the_mode(maker, individual_plan):
    _person("Awa", "Ba", national_id="X1")
    _person("Awa", "Ba", birth=date(1971, 1, 1), voter_card="V1")
    rows = [["Awa", "Ba", "F", "1980-01-01", "N-A", "X1", "V1", ""]]
    for mode in DuplicateMode.values:
        batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=mode)
        assert _statuses(batch) == {2: RowStatus.ERROR}, mode
        assert "Matches several people in the registry (by identity documents)" in _messages(batch)[2]


def test_stop_mode_refuses_the_commit_while_duplicates_remain(maker, individual_plan):
    import pytest
    from django.core.exceptions import ValidationError

    _person("Awa", "Ba", national_id="X1")
    rows = [
        ["Awa", "Ba", "F", "1980-01-01", "N-A", "X1", "", ""],
        ["New", "One", "M", "1990-01-01", "N-A", "X2", "", ""],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.STOP)
    with pytest.raises(ValidationError, match="stops on duplicates"):
        batch_commit_request(batch=batch, user=maker)


def test_two_rows_matching_one_person_in_the_registry_under_each_mode(maker, individual_plan):
    existing = _person("Awa", "Ba", birth=date(1980, 1, 1), national_id="X1")
    rows = [
        ["Awa", "Ba-Diop", "F", "1981-02-03", "N-B", "X1", "", ""],  # by identity document
        ["AWA", "BA", "F", "1980-01-01", "N-A", "", "", ""],  # by name, birth date and location
        ["New", "Person", "M", "1990-01-01", "N-A", "", "", ""],
    ]
    content = csv_bytes(rows, header=HEADER)
    repeat = "Duplicate of row 2 of this file (same person in the registry)."

    skipped = upload(maker, individual_plan, content)
    assert _statuses(skipped) == {2: RowStatus.SKIP, 3: RowStatus.SKIP, 4: RowStatus.NEW}
    assert not _messages(skipped)

    updated = upload(maker, individual_plan, content, duplicate_mode=DuplicateMode.UPDATE)
    assert _statuses(updated) == {2: RowStatus.UPDATE, 3: RowStatus.ERROR, 4: RowStatus.NEW}
    assert _messages(updated) == {3: repeat}

    stopped = upload(maker, individual_plan, content, duplicate_mode=DuplicateMode.STOP)
    assert _statuses(stopped) == {2: RowStatus.ERROR, 3: RowStatus.ERROR, 4: RowStatus.NEW}
    assert _messages(stopped) == {
        2: f"Already in the registry as individual #{existing.pk} (same identity document).",
        3: repeat,
    }
    assert (stopped.duplicate_rows, stopped.error_rows, stopped.new_rows) == (2, 2, 1)
