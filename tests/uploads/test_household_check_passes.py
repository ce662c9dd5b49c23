"""The household checks read the staging table once (one aggregate over the batch's new rows); a row is read
again only when the aggregate names its household: registered already, breaking a rule, or without a code in a
household plan. Counted as the statements that name the staging table."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Household, Location
from tests.uploads.conftest import csv_bytes, household_rows, upload
from uploads import checks
from uploads.models import StagedRow

STAGING = StagedRow._meta.db_table


def _staging_statements(batch, plan) -> list[str]:
    """households_check run again on a validated batch: its statements reading or writing staged rows."""
    with CaptureQueriesContext(connection) as queries:
        checks.households_check(batch_id=batch.pk, plan=plan)
    return [query["sql"] for query in queries.captured_queries if STAGING in query["sql"]]


def test_a_clean_file_is_one_pass_over_the_staging_table(maker, household_plan):
    batch = upload(
        maker,
        household_plan,
        csv_bytes(household_rows("H1") + household_rows("H2", family="Keita", ids=("A", "B", "C"))),
    )
    assert (batch.new_rows, batch.error_rows, batch.new_households) == (6, 0, 2)

    statements = _staging_statements(batch, household_plan)

    assert len(statements) == 1, statements
    assert "GROUP BY" in statements[0]


def test_rows_joining_a_registered_household_are_read_again_by_row_span(maker, household_plan):
    Household.objects.create(code="H9", location=Location.objects.get(code="N-A"))
    rows = household_rows("H1") + [["Awa", "Sow", "F", "1990-01-01", "N-A", "ID9", "H9", "head", "", "", ""]]
    batch = upload(maker, household_plan, csv_bytes(rows))
    StagedRow.objects.filter(batch_id=batch.pk).update(existing_household_id=None)

    statements = _staging_statements(batch, household_plan)

    assert len(statements) == 2, statements  # the aggregate, then the UPDATE of the one registered household
    assert "BETWEEN" in statements[1]
    staged = dict(
        StagedRow.objects.filter(batch_id=batch.pk).values_list("row_number", "existing_household_id")
    )
    assert staged == {2: None, 3: None, 4: None, 5: Household.objects.get(code="H9").pk}
