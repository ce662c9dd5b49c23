"""Exports of ODK Central and KoboToolbox converted into an upload batch: the same validation and commit."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from approvals.models import TaskState
from intake.models import FieldImport
from intake.services import field_form_update
from intake.xlsform import xlsform_write
from registry.models import Household, HouseholdMember, Individual
from tests.intake.conftest import (
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    SUBMISSIONS,
    central_csvs,
    central_zip,
    family,
    intake,
    kobo_json,
    kobo_xlsx,
    odata_json,
    submission,
)
from tests.uploads.conftest import approve
from uploads.models import BatchState, DuplicateMode, ImportBatch, StagedError, StagedRow
from uploads.services import batch_commit_request


def _errors(batch) -> list[tuple[str, str]]:
    return list(
        StagedError.objects.filter(batch_id=batch.pk).order_by("row_number").values_list("column", "message")
    )


def test_round_trip_xlsform_then_a_hand_made_central_export_then_commit(
    maker, checker, field_form, immediate_tasks, django_capture_on_commit_callbacks
):
    """The XLSForm's question names are the export's columns: importing them needs no mapping edit."""
    content = io.BytesIO()
    xlsform_write(content, plan=field_form.benefit_plan, form_id=field_form.form_id, version="1", title="t")
    survey = load_workbook(io.BytesIO(content.getvalue()))["survey"]
    names = [
        row[1]
        for row in survey.iter_rows(min_row=2, values_only=True)
        if row[0] not in ("begin_repeat", "end_repeat")
    ]
    assert set(HOUSEHOLD_COLUMNS + MEMBER_COLUMNS) <= set(names)

    batch = intake(maker, field_form, ("hh_survey.zip", central_zip()))
    assert batch.state == BatchState.VALIDATED, batch.error
    assert (batch.total_rows, batch.new_rows, batch.error_rows, batch.new_households) == (4, 4, 0, 2)
    record = FieldImport.objects.get(batch=batch)
    assert (record.form, record.households, record.members) == (field_form, 2, 4)
    staged = StagedRow.objects.get(batch_id=batch.pk, given_name="Amina", family_name="Diallo")
    assert staged.household_code == "H1" and staged.ind_data == '{"education": "primary"}'
    assert json.loads(staged.hh_data) == {"monthly_income": 1200, "water_source": "well"}

    task = batch_commit_request(batch=batch, user=maker)
    task = approve(task, checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.EXECUTED, task.error
    household = Household.objects.get(code="H1")
    assert household.size == 2 and household.data == {"monthly_income": 1200, "water_source": "well"}
    head = HouseholdMember.objects.get(household=household, role="head")
    assert head.individual.given_name == "Amina" and head.individual.data == {"education": "primary"}
    assert Individual.objects.count() == 4


@pytest.mark.parametrize(
    "files",
    [
        lambda: [("hh_survey.csv", central_csvs()[0]), ("hh_survey-members.csv", central_csvs()[1])],
        lambda: [("kobo.xlsx", kobo_xlsx())],
        lambda: [("submissions.json", odata_json())],
        lambda: [("kobo.json", kobo_json())],
    ],
    ids=["central-two-csv", "kobo-xlsx", "central-odata-json", "kobo-api-json"],
)
def test_every_export_format_gives_the_same_batch(maker, field_form, files):
    batch = intake(maker, field_form, *files())
    assert batch.state == BatchState.VALIDATED, batch.error
    assert (batch.total_rows, batch.new_rows, batch.error_rows, batch.new_households) == (4, 4, 0, 2)
    rows = StagedRow.objects.filter(batch_id=batch.pk).order_by("row_number")
    assert [(row.given_name, row.household_code, row.household_role) for row in rows] == [
        ("Amina", "H1", "head"),
        ("Moussa", "H1", "spouse"),
        ("Amina", "H2", "head"),
        ("Moussa", "H2", "spouse"),
    ]
    assert json.loads(rows[0].hh_data) == {"monthly_income": 1200, "water_source": "well"}


def test_blank_household_code_takes_the_submission_id(maker, field_form):
    batch = intake(maker, field_form, ("x.zip", central_zip([submission("uuid:ccc", "", family("Ba"))])))
    assert batch.state == BatchState.VALIDATED, batch.error
    assert set(StagedRow.objects.filter(batch_id=batch.pk).values_list("household_code", flat=True)) == {
        "uuid:ccc"
    }


# ---- a form edited in the field ------------------------------------------------------------------


def test_extra_column_is_named_and_nothing_is_stored(maker, field_form):
    main, members = central_csvs(
        [(key, [*cells, "blue"], members) for key, cells, members in SUBMISSIONS],
        household_columns=[*HOUSEHOLD_COLUMNS, "roof_colour"],
    )
    with pytest.raises(ValidationError) as caught:
        intake(maker, field_form, ("hh.csv", main), ("members.csv", members))
    message = " ".join(caught.value.messages)
    assert "roof_colour (hh.csv)" in message and "not in the mapping" in message
    assert ImportBatch.objects.count() == 0 and FieldImport.objects.count() == 0


def test_missing_required_column_is_named(maker, field_form):
    columns = [name for name in MEMBER_COLUMNS if name != "family_name"]
    submissions = [
        (key, cells, [[c for i, c in enumerate(m) if i != 1] for m in members])
        for key, cells, members in SUBMISSIONS
    ]
    with pytest.raises(ValidationError) as caught:
        intake(maker, field_form, ("x.zip", central_zip(submissions, member_columns=columns)))
    assert "missing: family_name (expected as family_name)" in " ".join(caught.value.messages)
    assert ImportBatch.objects.count() == 0


def test_renamed_column_is_named_both_ways_then_mapped(maker, field_form):
    columns = ["first_name" if name == "given_name" else name for name in MEMBER_COLUMNS]
    content = central_zip(member_columns=columns)
    with pytest.raises(ValidationError) as caught:
        intake(maker, field_form, ("x.zip", content))
    message = " ".join(caught.value.messages)
    assert (
        "first_name (hh_survey-members.csv)" in message and "given_name (expected as given_name)" in message
    )

    mapping = {**field_form.mapping, "first_name": "given_name"}
    del mapping["given_name"]
    field_form = field_form_update(user=maker, form=field_form, title=field_form.title, mapping=mapping)
    batch = intake(maker, field_form, ("x.zip", content))
    assert batch.state == BatchState.VALIDATED and batch.new_rows == 4


def test_mapping_to_an_unknown_upload_column_is_refused(maker, field_form):
    with pytest.raises(ValidationError) as caught:
        field_form_update(user=maker, form=field_form, title="t", mapping={"given_name": "ind.nope"})
    assert caught.value.message_dict == {
        "mapping": ["given_name → ind.nope: the upload has no column ind.nope."]
    }


# ---- bad rows: rejected with the file, row and column ------------------------------------------


def test_member_whose_household_is_missing_is_rejected_naming_its_row(maker, field_form):
    content = central_zip(parent_of={"uuid:bbb/2": "uuid:zzz"})
    batch = intake(maker, field_form, ("x.zip", content))
    assert batch.state == BatchState.VALIDATED, batch.error
    assert (batch.new_rows, batch.error_rows) == (3, 1)
    assert _errors(batch) == [
        ("PARENT_KEY", "hh_survey-members.csv row 5: its household uuid:zzz is not in hh_survey.csv.")
    ]
    row = StagedRow.objects.get(batch_id=batch.pk, status="error")
    assert row.raw.startswith("hh_survey-members.csv row 5")  # the rejected-rows file says where it came from


def test_member_in_two_households_is_an_error(maker, field_form):
    submissions = [
        submission("uuid:aaa", "H1", family("Diallo", ("ID1", "ID2"))),
        submission("uuid:bbb", "H2", family("Sow", ("ID1", "ID4"))),  # ID1 again: Amina in two households
    ]
    batch = intake(maker, field_form, ("x.json", odata_json(submissions)), duplicate_mode=DuplicateMode.STOP)
    assert batch.state == BatchState.VALIDATED, batch.error
    assert batch.duplicate_rows == 1
    # the pipeline's own messages: the duplicate, and its household left without a head
    assert _errors(batch) == [
        ("", "Duplicate of row 2 of this file (same national_id)."),
        (
            "household_code",
            "Household H2 has no head: one of its rows must have the role head (and no error).",
        ),
    ]
    source = StagedRow.objects.get(batch_id=batch.pk, match_kind="file:national_id").raw.split("\x1f")[0]
    assert source == "submission 2 (uuid:bbb) members[1]"


def test_member_listed_under_two_households_by_key_is_rejected(maker, field_form):
    main, members = central_csvs()
    lines = members.decode().splitlines()
    lines[3] = lines[3].replace(
        "uuid:bbb/members[1]", "uuid:aaa/members[1]"
    )  # Amina Sow's KEY is Amina Diallo's
    batch = intake(maker, field_form, ("h.csv", main), ("m.csv", ("\r\n".join(lines) + "\r\n").encode()))
    assert _errors(batch)[0] == (
        "KEY",
        "m.csv row 4: member uuid:aaa/members[1] is already listed at m.csv row 2 "
        "(a member in two households?).",
    )
    assert batch.new_rows == 2  # Household H2 lost its head with that row: its spouse waits for it


def test_choice_value_not_in_the_list_is_a_row_error(maker, field_form):
    members = [
        ["Amina", "Diallo", "F", "1980-04-02", "ID1", "head", "phd"],
        ["Moussa", "Diallo", "Q", "1978-01-15", "ID2", "spouse", ""],
    ]
    batch = intake(maker, field_form, ("k.xlsx", kobo_xlsx([submission("uuid:aaa", "H1", members)])))
    assert batch.state == BatchState.VALIDATED, batch.error
    assert (batch.error_rows, batch.new_rows) == (2, 0)
    errors = _errors(batch)
    assert ("ind.education", "'phd' is not one of: none, primary, secondary, tertiary.") in errors
    assert ("sex", "'Q' is not one of: F, M, X.") in errors


def test_household_without_members_is_rejected(maker, field_form):
    batch = intake(maker, field_form, ("x.json", kobo_json([*SUBMISSIONS, submission("uuid:ccc", "H3", [])])))
    assert ("members", "submission 3 (uuid:ccc): the household has no members.") in _errors(batch)
    assert batch.new_rows == 4


def test_unreadable_or_partial_exports_are_refused(maker, field_form):
    with pytest.raises(ValidationError, match="the members are missing"):
        intake(maker, field_form, ("hh.csv", central_csvs()[0]))
    with pytest.raises(ValidationError, match="not valid JSON"):
        intake(maker, field_form, ("x.json", b"{oops"))
    assert ImportBatch.objects.count() == 0


def test_officer_without_the_plan_cannot_import(south_officer, field_form):
    with pytest.raises(ValidationError, match="you do not manage this plan"):
        intake(south_officer, field_form, ("x.zip", central_zip()))
