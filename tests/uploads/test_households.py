"""Household rules, each alone and combined: which rows each refuses, in which order, and what it leaves standing."""

from __future__ import annotations

from datetime import date

import pytest

from registry import rules
from registry.models import Household, HouseholdMember, Individual, Location
from tests.uploads.conftest import csv_bytes, household_rows, upload
from uploads import checks
from uploads.models import RowStatus, StagedError, StagedRow

NO_HEAD = "Household {} has no head: one of its rows must have the role head (and no error)."


def _errors(batch) -> list[tuple[int, str, str]]:
    """In the order the batch's page lists them: by row, then as found."""
    return list(
        StagedError.objects.filter(batch_id=batch.pk)
        .order_by("row_number", "pk")
        .values_list("row_number", "column", "message")
    )


def _statuses(batch) -> dict[int, str]:
    return dict(StagedRow.objects.filter(batch_id=batch.pk).values_list("row_number", "status"))


def _registered_household(code: str, *, head_ended: bool = False, primary: bool = True) -> Household:
    north_a = Location.objects.get(code="N-A")
    household = Household.objects.create(code=code, location=north_a)
    for given, role in (("Old", "head"), ("Kid", "child")):
        person = Individual.objects.create(
            given_name=given, family_name="Registered", sex="F", birth_date=date(1960, 1, 1), location=north_a
        )
        HouseholdMember.objects.create(
            household=household,
            individual=person,
            role=role,
            is_primary_recipient=primary and role == "child",
            end_date=date(2020, 1, 1) if head_ended and role == "head" else None,
        )
    return household


def test_a_head_with_a_cell_error_leaves_its_members_without_a_head(maker, household_plan):
    rows = household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    rows[0][2] = "Q"  # H1's head
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert _errors(batch) == [
        (2, "sex", "'Q' is not one of: F, M, X."),
        (3, "household_code", NO_HEAD.format("H1")),
        (4, "household_code", NO_HEAD.format("H1")),
    ]
    assert (batch.new_rows, batch.error_rows, batch.new_households) == (3, 3, 1)


def test_a_head_among_two_primary_recipients_is_refused_with_both_errors_in_rule_order(maker, household_plan):
    rows = household_rows("H1")
    rows[0][8] = rows[2][8] = "yes"  # the head and the child both receive the payments
    rows[1][7] = "head"  # and the spouse is a second head
    batch = upload(maker, household_plan, csv_bytes(rows))
    two_heads = "Household H1 has 2 heads in this file (rows 2 to 3); it must have exactly one."
    two_primary = "Household H1 has 2 primary recipients in this file; it may have one."
    assert _errors(batch) == [
        (2, "household_role", two_heads),
        (2, "primary_recipient", two_primary),
        (3, "household_role", two_heads),
        (4, "primary_recipient", two_primary),
    ]
    assert batch.new_households == 0


def test_a_single_head_that_is_one_of_two_primary_recipients_leaves_the_household_without_a_head(
    maker, household_plan
):
    rows = household_rows("H1")
    rows[0][8] = rows[1][8] = "yes"
    rows[2][4] = "N-B"  # the child lives elsewhere, but its household has no head left to compare with
    batch = upload(maker, household_plan, csv_bytes(rows))
    two_primary = "Household H1 has 2 primary recipients in this file; it may have one."
    assert _errors(batch) == [
        (2, "primary_recipient", two_primary),
        (3, "primary_recipient", two_primary),
        (4, "household_code", NO_HEAD.format("H1")),
    ]


def test_members_living_elsewhere_than_their_head(maker, household_plan):
    rows = household_rows("H1") + household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    rows[1][4] = "N-B"  # H1's spouse
    rows[4][4] = rows[5][4] = "N-B"  # H2's spouse and child: refused for their location only
    rows[5][8] = rows[4][8] = "yes"  # ... unless another rule refuses them first
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert _errors(batch) == [
        (3, "location_code", "Household H1 lives in N-A (its head's row 2), not N-B."),
        (6, "primary_recipient", "Household H2 has 2 primary recipients in this file; it may have one."),
        (7, "primary_recipient", "Household H2 has 2 primary recipients in this file; it may have one."),
    ]
    assert _statuses(batch) == {
        2: RowStatus.NEW,
        3: RowStatus.ERROR,
        4: RowStatus.NEW,
        5: RowStatus.NEW,
        6: RowStatus.ERROR,
        7: RowStatus.ERROR,
    }
    assert batch.new_households == 2


def test_existing_households_keep_their_head_and_primary_recipient(maker, household_plan):
    existing = _registered_household("H9")
    without_head = _registered_household("H8", head_ended=True, primary=False)
    rows = [
        ["Ada", "Registered", "F", "1990-01-01", "N-A", "ID1", "H9", "head", "", "", ""],
        ["Bea", "Registered", "F", "1991-01-01", "N-A", "ID2", "H9", "child", "yes", "", ""],
        ["Cid", "Registered", "M", "1992-01-01", "N-B", "ID3", "H9", "child", "", "", ""],
        ["Dan", "Other", "M", "1993-01-01", "N-A", "ID4", "H8", "child", "", "", ""],
        ["Eve", "Other", "F", "1994-01-01", "N-A", "ID5", "H8", "head", "yes", "", ""],
    ]
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert _errors(batch) == [
        (2, "household_role", "Household H9 already has a head in the registry."),
        (3, "primary_recipient", "Household H9 already has a primary recipient in the registry."),
    ]
    # Cid joins H9 where he is (no head of H9 in the file to compare with); H8's ended head leaves room for Eve.
    assert _statuses(batch) == {2: "error", 3: "error", 4: "new", 5: "new", 6: "new"}
    staged = dict(
        StagedRow.objects.filter(batch_id=batch.pk).values_list("row_number", "existing_household_id")
    )
    assert staged == {2: existing.pk, 3: existing.pk, 4: existing.pk, 5: without_head.pk, 6: without_head.pk}
    assert batch.new_households == 0


def test_a_household_plan_refuses_new_people_outside_households(maker, household_plan, individual_plan):
    """The parser already requires household_code in a household plan's file; the rule also holds for
    rows staged by any other path."""
    for number, code in ((2, ""), (3, "H1")):
        StagedRow.objects.create(
            batch_id=999,
            row_number=number,
            raw="",
            given_name="Awa",
            household_code=code,
            household_role="head" if code else "",
            location_code="N-A",
        )
    checks.households_check(batch_id=999, plan=individual_plan)
    assert not StagedError.objects.filter(batch_id=999).exists()
    checks.households_check(batch_id=999, plan=household_plan)
    assert list(StagedError.objects.filter(batch_id=999).values_list("row_number", "column", "message")) == [
        (2, "household_code", "Plan CASH enrols households: household_code is required.")
    ]
    assert checks.batch_counts(batch_id=999) == {
        "duplicates": 0,
        "total": 2,
        "new": 1,
        "update": 0,
        "skip": 0,
        "error": 1,
        "households": 1,
    }


@pytest.mark.parametrize("indexed_span", [0, 100_000])
def test_interleaved_households_read_by_row_range_or_by_scan_give_the_same_errors(
    maker, household_plan, monkeypatch, indexed_span
):
    """The rows of households with a problem are read by row number when they span few rows, else by a scan."""
    monkeypatch.setattr(rules, "INDEXED_SPAN", indexed_span)
    first = household_rows("H1")
    second = household_rows("H2", family="Sow", ids=("ID4", "ID5", "ID6"))
    first[0][2] = "Q"  # H1's head is refused
    second[2][4] = "N-B"  # H2's child lives elsewhere
    rows = [first[0], second[0], first[1], second[1], first[2], second[2]]
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert _errors(batch) == [
        (2, "sex", "'Q' is not one of: F, M, X."),
        (4, "household_code", NO_HEAD.format("H1")),
        (6, "household_code", NO_HEAD.format("H1")),
        (7, "location_code", "Household H2 lives in N-A (its head's row 3), not N-B."),
    ]
