"""Each row error names its row and column; the rejected rows come back as a file to fix and upload again."""

from __future__ import annotations

import csv
import io

from tests.uploads.conftest import HEADER, csv_bytes, household_rows, upload
from uploads.exports import rejected_rows_csv
from uploads.models import BatchState, StagedError, StagedRow


def _errors(batch) -> set[tuple[int, str, str]]:
    return set(StagedError.objects.filter(batch_id=batch.pk).values_list("row_number", "column", "message"))


def test_cell_errors(maker, household_plan):
    rows = [
        ["", "Diallo", "Q", "1980-02-30", "N-A", "ID1", "H1", "head", "maybe", "phd", "-5"],
        ["Awa", "Diallo", "F", "2999-01-01", "ZZ", "ID2", "H1", "cousin", "", "", ""],
    ]
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert batch.state == BatchState.VALIDATED and batch.error_rows == 2
    errors = _errors(batch)
    assert (2, "given_name", "given_name is required.") in errors
    assert (2, "sex", "'Q' is not one of: F, M, X.") in errors
    assert (2, "birth_date", "'1980-02-30' is not a real date.") in errors
    assert (
        2,
        "primary_recipient",
        "'maybe' is not yes/no (accepted: yes, no, true, false, 1, 0, oui, non, vrai, faux).",
    ) in errors
    assert (2, "ind.education", "'phd' is not one of: none, primary, secondary, tertiary.") in errors
    assert (2, "hh.monthly_income", "Must be at least 0 (-5 given).") in errors
    assert (3, "birth_date", "'2999-01-01' is in the future.") in errors
    assert (3, "location_code", "No location has the code 'ZZ'.") in errors
    assert any(
        row == 3 and column == "household_role" and "'cousin' is not one of" in message
        for row, column, message in errors
    )


def test_locations_outside_the_uploaders_area(maker, household_plan):
    batch = upload(maker, household_plan, csv_bytes(household_rows(location="S")))
    assert (2, "location_code", "Location S is outside the area you work in.") in _errors(batch)
    assert batch.new_rows == 0


def test_household_consistency(maker, household_plan):
    two_heads = household_rows("H1")
    two_heads[1][7] = "head"
    no_head = household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))[1:]
    two_primary = household_rows("H3", family="Ba", ids=("ID7", "ID8", "ID9"))
    two_primary[0][8] = two_primary[1][8] = "yes"
    elsewhere = household_rows("H4", family="Fall", ids=("ID10", "ID11", "ID12"))
    elsewhere[2][4] = "N-B"
    batch = upload(maker, household_plan, csv_bytes(two_heads + no_head + two_primary + elsewhere))
    errors = _errors(batch)
    assert (
        2,
        "household_role",
        "Household H1 has 2 heads in this file (rows 2 to 3); it must have exactly one.",
    ) in errors
    assert (
        5,
        "household_code",
        "Household H2 has no head: one of its rows must have the role head (and no error).",
    ) in errors
    assert (
        7,
        "primary_recipient",
        "Household H3 has 2 primary recipients in this file; it may have one.",
    ) in errors
    assert (12, "location_code", "Household H4 lives in N-A (its head's row 10), not N-B.") in errors
    # A household whose head is rejected waits whole; H4 keeps the two members living with their head.
    assert (
        4,
        "household_code",
        "Household H1 has no head: one of its rows must have the role head (and no error).",
    ) in errors
    assert batch.new_rows == 2 and batch.new_households == 1


def test_rejected_rows_file_can_be_fixed_and_uploaded_again(maker, household_plan):
    rows = household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    rows[4][2] = "Q"  # Moussa Sow's sex
    first = upload(maker, household_plan, csv_bytes(rows))
    assert (first.new_rows, first.error_rows) == (5, 1)
    text = "".join(rejected_rows_csv(batch=first)).lstrip("\ufeff")
    rejected = list(csv.reader(io.StringIO(text)))
    assert rejected[0] == [*HEADER, "outcome", "errors"]
    assert rejected[1][:3] == ["Moussa", "Sow", "Q"]
    assert rejected[1][-2:] == ["rejected", "row 6: sex: 'Q' is not one of: F, M, X."]
    rejected[1][2] = "M"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rejected)
    # H2 is still new in the registry only once the first batch is committed; here it is validated alone,
    # so the fixed row stands on its own as a member of a household without a head in this file.
    second = upload(maker, household_plan, fixed.getvalue().encode("utf-8"), name="people-fixed.csv")
    assert second.state == BatchState.VALIDATED
    assert _errors(second) == {
        (
            2,
            "household_code",
            "Household H2 has no head: one of its rows must have the role head (and no error).",
        )
    }


def test_a_custom_value_refused_or_accepted_again_gives_the_same_answer(maker, household_plan):
    """Each distinct custom cell is converted once and remembered, its refusal too."""
    rows = household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    rows[0][9] = rows[3][9] = "phd"
    rows[1][9] = rows[4][9] = " Secondary "
    batch = upload(maker, household_plan, csv_bytes(rows))
    refused = "'phd' is not one of: none, primary, secondary, tertiary."
    assert {
        (row, column, message) for row, column, message in _errors(batch) if column == "ind.education"
    } == {
        (2, "ind.education", refused),
        (5, "ind.education", refused),
    }
    data = dict(StagedRow.objects.filter(batch_id=batch.pk).values_list("row_number", "ind_data"))
    assert data[3] == data[6] == '{"education": "secondary"}'
