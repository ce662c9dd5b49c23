"""The database holds the constraints the services rely on (FK constraints included, whatever writes the
rows), and not the indexes bulk writes were spared."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from registry.models import HouseholdMember, IdentityDocument, Individual, Location
from registry.services import individuals_delete

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


def _foreign_keys(table: str) -> dict[str, tuple[str, str]]:
    """{column: (referenced table, referenced column)} of the table's FK constraints in the database."""
    return {
        info["columns"][0]: tuple(info["foreign_key"])
        for info in _constraints(table).values()
        if info["foreign_key"] is not None
    }


# Integrity in the database (issue 15): the references the upload commit writes a million at a time are
# FK constraints like every other reference, whatever the code that writes them.
REGISTRY_REFERENCES = [
    ("registry_individual", "location_id", ("registry_location", "id")),
    ("registry_household", "location_id", ("registry_location", "id")),
    ("registry_identitydocument", "individual_id", ("registry_individual", "id")),
    ("registry_householdmember", "household_id", ("registry_household", "id")),
    ("registry_householdmember", "individual_id", ("registry_individual", "id")),
    ("registry_location", "parent_id", ("registry_location", "id")),
]


@pytest.mark.parametrize(("table", "column", "target"), REGISTRY_REFERENCES)
def test_every_registry_reference_is_a_database_foreign_key(table, column, target):
    assert _foreign_keys(table).get(column) == target, _foreign_keys(table)


def test_foreign_keys_are_validated_and_deferrable_on_postgresql():
    # Added NOT VALID by registry 0008, then validated; deferrable: the commit chooses when they are checked.
    if connection.vendor != "postgresql":
        pytest.skip("convalidated and condeferrable are PostgreSQL's catalogue")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, convalidated, condeferrable FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text IN ('registry_individual', "
            "'registry_household', 'registry_identitydocument', 'registry_householdmember')"
        )
        rows = cursor.fetchall()
    assert len(rows) == 5 and all(validated and deferrable for _table, validated, deferrable in rows), rows


def _database_refuses(sql: str, params: list) -> None:
    """Run `sql` past Django's ORM (no on_delete, no form); the database checks its constraints now."""
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        connection.check_constraints()


def test_the_database_refuses_a_document_or_membership_for_a_missing_person(tree, make_household):
    household = make_household(tree.north_a, members=1)
    missing = Individual.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000

    _database_refuses(
        "INSERT INTO registry_identitydocument (individual_id, doc_type, value) VALUES (%s, %s, %s)",
        [missing, "national_id", "NOBODY-1"],
    )
    _database_refuses(
        "INSERT INTO registry_householdmember (household_id, individual_id, role, is_primary_recipient, "
        "start_date) VALUES (%s, %s, 'child', FALSE, '2025-01-01')",
        [household.pk, missing],
    )
    assert not IdentityDocument.objects.filter(value="NOBODY-1").exists()
    assert HouseholdMember.objects.filter(household=household).count() == 1


def test_the_database_refuses_a_person_in_a_missing_location(tree):
    missing = Location.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    _database_refuses(
        "INSERT INTO registry_individual (given_name, family_name, other_names, sex, birth_date_estimated, "
        "phone, location_id, registration_date, registration_source, status, data, created_at, updated_at) "
        "VALUES ('Awa', 'Ba', '', 'F', FALSE, '', %s, '2025-01-01', 'manual', 'active', '{}', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        [missing],
    )


def test_the_database_refuses_to_delete_a_location_or_person_in_use(tree, make_household):
    household = make_household(tree.north_a, members=1)
    head = household.memberships.get().individual

    _database_refuses("DELETE FROM registry_location WHERE id = %s", [tree.north_a.pk])
    _database_refuses("DELETE FROM registry_individual WHERE id = %s", [head.pk])
    _database_refuses("DELETE FROM registry_household WHERE id = %s", [household.pk])
    assert Location.objects.filter(pk=tree.north_a.pk).exists()
    assert Individual.objects.filter(pk=head.pk).exists()


def test_beneficiaries_keep_their_foreign_keys():
    assert {"individual_id", "household_id", "benefit_plan_id"} <= set(_foreign_keys("programs_beneficiary"))


def test_one_unique_index_serves_document_search_by_number_and_by_type_and_number():
    constraints = _constraints("registry_identitydocument")
    assert constraints["identity_document_unique"]["columns"] == ["value", "doc_type"]
    assert constraints["identity_document_unique"]["unique"]
    assert "identity_document_value_idx" not in constraints


def test_rare_status_and_source_indexes_leave_out_what_an_upload_writes():
    constraints = _constraints("registry_individual")
    assert {"individual_rare_status_idx", "individual_rare_source_idx"} <= set(constraints)
    assert not {"individual_status_idx", "individual_source_idx", "individual_family_name_idx"} & set(
        constraints
    )


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty test table would be read whole
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@contextmanager
def _given_name_index_set_aside(*others: str) -> Iterator[None]:
    """On a test's tiny table the planner may take the given-name index for an equality on both names; the
    question is whether the (family, given, ...) index can serve it: the other is dropped in a savepoint
    that is rolled back."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            for index in ("individual_given_idx", *others):
                cursor.execute(f"DROP INDEX {index}")
        yield
        transaction.set_rollback(True)


def test_name_indexes_serve_prefix_search_equality_and_the_name_order():
    from registry.models import Individual
    from registry.selectors import name_order_key

    if connection.vendor != "postgresql":
        # SQLite keeps plain UPPER(name) indexes (no "C" collation there); the order key is UPPER(name).
        assert {"individual_name_idx", "individual_given_idx"} <= set(_constraints("registry_individual"))
        assert "COLLATE" not in str(Individual.objects.order_by(name_order_key("family_name")).query)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'individual_name_idx'")
        assert 'COLLATE "C"' in cursor.fetchone()[0]
    prefix = _plan("SELECT id FROM registry_individual WHERE UPPER(family_name) LIKE %s", ["DIA%"])
    assert "individual_name_idx" in prefix, prefix
    # Equality in that collation too (duplicate matching in uploads/checks.py; bytewise equality is the
    # default collation's equality, deterministic collations compare equal only when the bytes are equal).
    with _given_name_index_set_aside():
        same = _plan(
            'SELECT id FROM registry_individual WHERE UPPER(family_name) COLLATE "C" = %s '
            'AND UPPER(given_name) COLLATE "C" = %s',
            ["DIALLO", "AMINA"],
        )
    assert "individual_name_idx" in same, same
    assert "individual_given_idx" in _plan(
        "SELECT id FROM registry_individual WHERE UPPER(given_name) LIKE %s", ["AMI%"]
    )
    ordered = Individual.objects.order_by(name_order_key("family_name"), name_order_key("given_name"), "pk")
    sql, params = ordered.values("pk")[:100].query.sql_with_params()
    plan = _plan(sql, list(params))
    assert "Index Scan using individual_name_idx" in plan and "\n  ->  Sort" not in plan, plan


def test_deletes_through_django_cascade_and_protect(tree, make_individual, make_household):
    # Deletes through Django (admin, services) go before the constraints: a person's documents and memberships
    # go with them (on_delete), a location in use stays.
    household = make_household(tree.north_a, members=2)
    head = household.memberships.get(role="head").individual
    IdentityDocument.objects.create(individual=head, doc_type="national_id", value="DEL-1")
    other = make_individual(tree.north_a)
    IdentityDocument.objects.create(individual=other, doc_type="national_id", value="KEEP-1")

    individuals_delete(individuals=Individual.objects.filter(pk=head.pk))

    assert not Individual.objects.filter(pk=head.pk).exists()
    assert not IdentityDocument.objects.filter(value="DEL-1").exists()
    assert not HouseholdMember.objects.filter(individual_id=head.pk).exists()
    assert IdentityDocument.objects.filter(value="KEEP-1", individual=other).exists()
    assert HouseholdMember.objects.filter(household=household).count() == 1
    household.refresh_from_db()
    assert household.size == 1  # the stored size follows the delete
    with pytest.raises(ProtectedError):
        tree.north_a.delete()
    household.delete()
    assert not HouseholdMember.objects.filter(household_id=household.pk).exists()


def test_an_uploads_name_match_probes_the_name_index_with_birth_date_and_location():
    # At 10M people a common pair of names is over a thousand entries: matching by names alone read each one's
    # row for its birth date and location (migration 0010). The probe now carries all four.
    from registry.bulk import Source
    from registry.matching import name_matches

    if connection.vendor != "postgresql":
        assert "individual_name_idx" in _constraints("registry_individual")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'individual_name_idx'")
        definition = cursor.fetchone()[0]
    assert "birth_date, location_id" in definition, definition
    source = Source(
        "SELECT 1 AS key, 'DIALLO' AS family_key, 'AMINA' AS given_key, DATE '1990-01-01' AS birth_date, "
        "1::bigint AS location_id",
        [],
    )
    matches = name_matches(source)
    with _given_name_index_set_aside("individual_location_idx", "individual_birth_date_idx"):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
        plan = _plan(f"SELECT * FROM {matches.relation('m')}", matches.params)
    assert "individual_name_idx" in plan, plan
    condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "birth_date" in condition and "location_id" in condition, plan
