"""The database holds the constraints the services rely on, and not the indexes bulk writes were spared."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _constraints(table: str) -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def test_membership_keeps_its_partial_unique_indexes():
    # Dropping the foreign keys' own indexes once took these with them (same column, on PostgreSQL).
    constraints = _constraints("registry_householdmember")
    for name in ("household_one_head", "household_one_primary_recipient", "member_one_household"):
        assert name in constraints and constraints[name]["unique"], name
    assert {"member_household_idx", "member_individual_idx"} <= set(constraints)


def test_foreign_keys_covered_by_composite_indexes_have_no_index_of_their_own():
    for table, column, covering in [
        ("registry_individual", "location_id", "individual_location_idx"),
        ("registry_household", "location_id", "household_location_idx"),
        ("registry_householdmember", "household_id", "member_household_idx"),
        ("registry_householdmember", "individual_id", "member_individual_idx"),
    ]:
        constraints = _constraints(table)
        assert constraints[covering]["columns"][0] == column
        single = [
            name
            for name, info in constraints.items()
            if info["index"] and info["columns"] == [column] and not info["unique"] and name != covering
        ]
        assert single == [], (table, single)
