"""A row naming, by identity number, a person outside the uploader's area: an error in "update" (and "stop")
mode that says only that the number is registered; nobody outside the area is changed or moved. Inside the
area, the messages may name the record."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from guardian.shortcuts import assign_perm

from access.roles import PROGRAMME_OFFICER, REGISTRY_OFFICER
from registry.models import IdentityDocument, Individual, Location
from tests.conftest import make_user
from tests.uploads.conftest import approve, csv_bytes, upload
from uploads.exports import rejected_rows_csv
from uploads.models import DuplicateMode, RowStatus, StagedError, StagedRow
from uploads.services import batch_commit_request

HEADER = ["given_name", "family_name", "sex", "birth_date", "location_code", "national_id", "voter_card"]
REGISTERED = "The number {number} is already registered: this upload cannot use it for this row."


def _person(given: str, family: str, location: str, **documents: str) -> Individual:
    person = Individual.objects.create(
        given_name=given,
        family_name=family,
        sex="F",
        birth_date=date(1970, 1, 1),
        location=Location.objects.get(code=location),
    )
    for doc_type, value in documents.items():
        IdentityDocument.objects.create(individual=person, doc_type=doc_type, value=value)
    return person


def _errors(batch) -> dict[int, tuple[str, str]]:
    return {
        row: (column, message)
        for row, column, message in StagedError.objects.filter(batch_id=batch.pk).values_list(
            "row_number", "column", "message"
        )
    }


def _statuses(batch) -> dict[int, str]:
    return dict(StagedRow.objects.filter(batch_id=batch.pk).values_list("row_number", "status"))


@pytest.fixture
def officer_a(tree, individual_plan):
    user = make_user("officer_a", roles=(REGISTRY_OFFICER, PROGRAMME_OFFICER), locations=(tree.north_a,))
    assign_perm("programs.manage_beneficiaries", user, individual_plan)
    return user


def _says_nothing_about(message: str, person: Individual) -> None:
    """No id, name, birth date or location of the holder (the numbers used here hold no digit)."""
    assert not re.search(r"\d", message), message
    for secret in (person.given_name, person.family_name, person.location.name, "individual", "outside"):
        assert secret.lower() not in message.lower(), (secret, message)


def test_update_mode_refuses_a_number_held_outside_the_area_and_changes_nobody(
    maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    south = _person("Zeinab", "Outside", "S", national_id="SUD-K")
    north = _person("Awa", "Inside", "N-B", national_id="NORD-Q")
    rows = [
        ["Mallory", "Moved", "M", "1990-01-01", "N-A", "SUD-K", ""],  # would rename and move a South person
        ["Awa", "Inside-Diop", "F", "1970-01-01", "N-A", "NORD-Q", ""],  # inside the maker's North: updated
        ["Mallory", "Voter", "M", "1990-01-01", "N-A", "", ""],  # a new person
    ]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert _statuses(batch) == {2: RowStatus.ERROR, 3: RowStatus.UPDATE, 4: RowStatus.NEW}
    assert _errors(batch) == {2: ("national_id", REGISTERED.format(number="SUD-K"))}
    _says_nothing_about(_errors(batch)[2][1], south)
    assert (batch.update_rows, batch.error_rows, batch.new_rows) == (1, 1, 1)

    task = approve(batch_commit_request(batch=batch, user=maker), checker, django_capture_on_commit_callbacks)
    assert task.state == "executed", task.error
    south.refresh_from_db()
    assert (south.given_name, south.family_name, south.location.code) == ("Zeinab", "Outside", "S")
    north.refresh_from_db()
    assert (north.family_name, north.location.code) == ("Inside-Diop", "N-A")
    assert not south.history.filter(history_change_reason__contains=f"batch #{batch.pk}").exists()


def test_a_district_officer_cannot_update_the_neighbouring_district(officer_a, individual_plan):
    neighbour = _person("Binta", "Next-Door", "N-B", national_id="BEE-X")
    own = _person("Coumba", "Here", "N-A", voter_card="VEE-Y")
    rows = [
        ["Binta", "Taken", "F", "1970-01-01", "N-A", "BEE-X", ""],
        ["Coumba", "Here", "F", "1971-01-01", "N-A", "", "VEE-Y"],
    ]
    batch = upload(
        officer_a, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert _statuses(batch) == {2: RowStatus.ERROR, 3: RowStatus.UPDATE}
    assert _errors(batch) == {2: ("national_id", REGISTERED.format(number="BEE-X"))}
    _says_nothing_about(_errors(batch)[2][1], neighbour)
    assert StagedRow.objects.get(batch_id=batch.pk, row_number=3).match_individual_id == own.pk


def test_the_column_named_is_the_document_that_matched(maker, individual_plan):
    south = _person("Zeinab", "Outside", "S", voter_card="VSUD-Z")
    rows = [["Mallory", "Moved", "M", "1990-01-01", "N-A", "NEW-1", "VSUD-Z"]]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert _errors(batch) == {2: ("voter_card", REGISTERED.format(number="VSUD-Z"))}
    _says_nothing_about(_errors(batch)[2][1], south)


def test_an_administrator_updates_anywhere(administrator, individual_plan):
    assign_perm("programs.manage_beneficiaries", administrator, individual_plan)
    south = _person("Zeinab", "Outside", "S", national_id="SUD-K")
    rows = [["Zeinab", "Outside-Ba", "F", "1970-01-01", "S", "SUD-K", ""]]
    batch = upload(
        administrator, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert _statuses(batch) == {2: RowStatus.UPDATE} and not _errors(batch)
    assert StagedRow.objects.get(batch_id=batch.pk, row_number=2).match_individual_id == south.pk


def test_stop_mode_names_the_record_inside_the_area_and_nothing_outside(maker, individual_plan):
    south = _person("Zeinab", "Outside", "S", national_id="SUD-K")
    north = _person("Awa", "Inside", "N-B", national_id="NORD-Q")
    rows = [
        ["Zeinab", "Outside", "F", "1970-01-01", "N-A", "SUD-K", ""],
        ["Awa", "Inside", "F", "1970-01-01", "N-A", "NORD-Q", ""],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.STOP)
    errors = _errors(batch)
    assert errors[2] == ("national_id", REGISTERED.format(number="SUD-K"))
    _says_nothing_about(errors[2][1], south)
    assert errors[3] == ("", f"Already in the registry as individual #{north.pk} (same identity document).")


def test_skip_mode_lists_the_reference_only_inside_the_area(maker, individual_plan):
    south = _person("Zeinab", "Outside", "S", national_id="SUD-K")
    north = _person("Awa", "Inside", "N-B", national_id="NORD-Q")
    rows = [
        ["Zeinab", "Outside", "F", "1970-01-01", "N-A", "SUD-K", ""],
        ["Awa", "Inside", "F", "1970-01-01", "N-A", "NORD-Q", ""],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert _statuses(batch) == {2: RowStatus.SKIP, 3: RowStatus.SKIP} and not _errors(batch)
    listed = list(csv.reader(io.StringIO("".join(rejected_rows_csv(batch=batch)).lstrip("\ufeff"))))
    assert listed[1][-2:] == ["skipped", "row 2: skipped: national_id: " + REGISTERED.format(number="SUD-K")]
    _says_nothing_about(listed[1][-1].split("skipped: ", 1)[1], south)
    assert listed[2][-2:] == [
        "skipped",
        f"row 3: skipped: Already in the registry as individual #{north.pk} (same identity document).",
    ]


def test_nobody_joins_a_household_outside_the_area(maker, household_plan):
    from registry.models import Household
    from tests.uploads.conftest import HEADER as HOUSEHOLD_HEADER

    south = Household.objects.create(code="HH-SUD", location=Location.objects.get(code="S"))
    north = Household.objects.create(code="HH-NORD", location=Location.objects.get(code="N-A"))
    rows = [
        ["Kid", "Far", "F", "2015-01-01", "N-A", "", "HH-SUD", "child", "", "", ""],
        ["Kid", "Near", "F", "2015-01-01", "N-A", "", "HH-NORD", "child", "", "", ""],
    ]
    batch = upload(maker, household_plan, csv_bytes(rows, header=HOUSEHOLD_HEADER))
    assert _statuses(batch) == {2: RowStatus.ERROR, 3: RowStatus.NEW}
    column, message = _errors(batch)[2]
    assert column == "household_code"
    assert message == "The household code HH-SUD is already registered: this upload cannot add people to it."
    assert "South" not in message and str(south.pk) not in message.replace("HH-SUD", "")
    assert StagedRow.objects.get(batch_id=batch.pk, row_number=3).existing_household_id == north.pk
