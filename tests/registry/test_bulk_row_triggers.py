"""Bulk creation without PostgreSQL's per-row FK triggers (where the role may) still refuses a reference to
nothing: its own set-based check over the rows it wrote replaces the triggers' one lookup per row."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from registry import bulk
from registry.models import Household, HouseholdMember, Individual

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _source(rows: list[tuple[int, str, str, int]]) -> bulk.Source:
    """One new person per (row number, household code, role, location id)."""
    columns = (
        "CAST(%s AS integer) AS row_number, CAST(%s AS varchar) AS household_key, CAST(NULL AS bigint) "
        "AS household_id, CAST(%s AS varchar) AS role, FALSE AS is_primary_recipient, 'Ada' AS given_name, "
        "'Bulk' AS family_name, '' AS other_names, 'F' AS sex, CAST(NULL AS date) AS birth_date, "
        "FALSE AS birth_date_estimated, '' AS phone, CAST(%s AS bigint) AS location_id, '{}' AS data, "
        "'{}' AS household_data"
    )
    return bulk.Source(
        " UNION ALL ".join(f"SELECT {columns}" for _row in rows), [value for row in rows for value in row]
    )


def _replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        return cursor.fetchone()[0]


@pytest.fixture
def postgres_superuser():
    if connection.vendor != "postgresql":
        pytest.skip("session_replication_role is PostgreSQL's")
    if not bulk.row_triggers_skippable():
        pytest.skip("the test role may not set session_replication_role")


def test_people_are_created_without_triggers_and_the_role_is_restored(tree, postgres_superuser):
    with transaction.atomic():
        created = bulk.people_create(
            source=_source([(1, "B1", "head", tree.north_a.pk), (2, "B1", "child", tree.north_a.pk)])
        )
        assert _replication_role() == "origin"
        bulk.foreign_keys_check()

    assert (created.individuals, created.households, created.members) == (2, 1, 2)
    household = Household.objects.get(code="B1")
    assert household.size == 2
    assert HouseholdMember.objects.filter(household=household, individual__family_name="Bulk").count() == 2


def test_a_location_that_does_not_exist_is_refused_by_the_set_based_check(tree, postgres_superuser):
    # The caller skipped `locations_lock` (which would have named the row): no per-row trigger runs, so the
    # bulk write's own check must find the person and the household pointing at nothing.
    missing = Individual.objects.order_by("-location_id").values_list("location_id", flat=True).first() or 0
    missing = max(missing, tree.south.pk) + 1000
    with pytest.raises(bulk.BulkRefused) as refusal, transaction.atomic():
        bulk.people_create(source=_source([(1, "B2", "head", missing)]))

    assert refusal.value.reason == "references"
    assert "registry_individual" in refusal.value.messages[0]
    assert not Individual.objects.filter(family_name="Bulk").exists()
    assert not Household.objects.filter(code="B2").exists()
    assert _replication_role() == "origin"
