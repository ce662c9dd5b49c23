"""The registry's bulk loader: rows land with their ids, sizes and timestamps; a bad chunk writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from registry import rules
from registry.bulk_copy import RegistryChunk, RegistryCopyLoader, locations_load
from registry.models import Household, HouseholdMember, IdentityDocument, Individual, Location


@pytest.fixture
def village(db) -> Location:
    return locations_load([("V1", "Village", None, Decimal("1.5"), None)])[0]


def person(pk: int, location: Location, **overrides) -> tuple:
    values = {
        "id": pk,
        "given_name": "Ada",
        "family_name": "Bello",
        "other_names": "",
        "sex": "F",
        "birth_date": date(1990, 5, 1),
        "birth_date_estimated": False,
        "phone": "",
        "location": location.pk,
        "registration_date": "2026-01-02",
        "registration_source": "generated",
        "status": "active",
        "data": {"disability": False},
    }
    values.update(overrides)
    return tuple(values.values())


def family_chunk(loader: RegistryCopyLoader, location: Location, *, code: str = "HH-1") -> RegistryChunk:
    """One household of three: head, spouse (primary recipient), a child who moved away (membership ended)."""
    (household,) = loader.household_ids(1)
    head, spouse, child = loader.individual_ids(3)
    return RegistryChunk(
        households=[
            (
                household,
                code,
                location.pk,
                "Plot 1",
                "1.250000",
                None,
                date(2026, 1, 2),
                '{"water_source": "well"}',
            )
        ],
        individuals=[
            person(head, location, given_name="Tab\there", other_names="Back\\slash \\N"),
            person(spouse, location, given_name="Line\nbreak", birth_date=None),
            person(child, location, status="moved", data='{"education": "primary"}'),
        ],
        members=[
            (household, head, "head", False, "2026-01-02", None),
            (household, spouse, "spouse", True, "2026-01-02", None),
            (household, child, "child", False, "2026-01-02", date(2026, 3, 1)),
        ],
        documents=[(head, "national_id", f"{code}-NID"), (spouse, "birth_certificate", f"{code}-BC")],
    )


def test_rows_land_with_their_ids_sizes_and_escaped_values(village):
    before = Individual.objects.create(given_name="Old", family_name="One", sex="M", location=village)
    loader = RegistryCopyLoader()
    chunk = family_chunk(loader, village)
    assert loader.write(chunk) == {
        "households": 1,
        "individuals": 3,
        "memberships": 3,
        "identity_documents": 2,
    }

    household = Household.objects.get(code="HH-1")
    assert household.pk == chunk.households[0][0]
    assert household.size == 2  # the child's membership ended
    assert household.latitude == Decimal("1.25") and household.longitude is None
    assert household.data == {"water_source": "well"} and household.created_at is not None
    ids = [row[0] for row in chunk.individuals]
    assert min(ids) > before.pk
    head, spouse, child = (Individual.objects.get(pk=pk) for pk in ids)
    assert (head.given_name, head.other_names) == ("Tab\there", "Back\\slash \\N")
    assert spouse.given_name == "Line\nbreak" and spouse.birth_date is None
    assert child.status == "moved" and child.data == {"education": "primary"}
    assert head.data == {"disability": False} and head.registration_date == date(2026, 1, 2)
    assert HouseholdMember.objects.get(individual=spouse).is_primary_recipient
    assert HouseholdMember.objects.get(individual=child).end_date == date(2026, 3, 1)
    assert IdentityDocument.objects.get(value="HH-1-NID").individual == head
    # The ids were the table's: the next ordinary row takes a new one.
    after = Individual.objects.create(given_name="New", family_name="One", sex="M", location=village)
    assert after.pk > max(ids)


def test_a_stream_of_chunks_reports_each_one(village):
    loader = RegistryCopyLoader()
    written = []

    def chunks():
        for number in range(3):
            yield family_chunk(loader, village, code=f"HH-{number}")

    loader.load(chunks(), written=written.append)
    assert [counts["households"] for counts in written] == [1, 1, 1]
    assert Household.objects.count() == 3 and Individual.objects.count() == 9


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda c: c.members.append((999_999, c.individuals[0][0], "child", False, "2026-01-02", None)),
            "household members, row 4: household 999999 is not in this chunk.",
        ),
        (
            lambda c: c.documents.append((888_888, "national_id", "X1")),
            "identity documents, row 3: individual 888888 is not in this chunk.",
        ),
        (
            lambda c: c.members.__setitem__(0, c.members[0][:2] + ("boss",) + c.members[0][3:]),
            "household members, row 1: 'boss' is not a household role",
        ),
        (
            lambda c: c.members.__setitem__(0, c.members[0][:2] + ("child",) + c.members[0][3:]),
            "Household HH-1 has no head: one of its members must have the role head.",
        ),
        (
            lambda c: c.members.__setitem__(0, c.members[0][:3] + (True,) + c.members[0][4:]),
            "Household HH-1 has 2 primary recipients; it may have one.",
        ),
        (
            lambda c: c.individuals.__setitem__(1, c.individuals[1][:5]),
            "individuals, row 2: 5 values where 13 columns are expected.",
        ),
    ],
)
def test_a_bad_chunk_is_refused_with_what_and_where(village, spoil, message):
    loader = RegistryCopyLoader()
    chunk = family_chunk(loader, village)
    spoil(chunk)
    with pytest.raises(ValidationError) as error:
        loader.write(chunk)
    assert any(message in text for text in error.value.messages), error.value.messages
    assert not Household.objects.exists() and not Individual.objects.exists()


def with_member(chunk: RegistryChunk, number: int, *, role: str, primary) -> RegistryChunk:
    household, individual, _role, _primary, start, end = chunk.members[number]
    chunk.members[number] = (household, individual, role, primary, start, end)
    return chunk


@pytest.mark.parametrize(
    ("role", "primary", "field", "message"),
    [
        ("head", "f", "role", "Household HH-1 has 2 heads; it must have exactly one."),
        ("spouse", "t", "is_primary_recipient", "Household HH-1 has 2 primary recipients; it may have one."),
    ],
)
def test_the_household_rules_refuse_a_chunk_in_the_rules_own_words(village, role, primary, field, message):
    """Two current heads, or two current primary recipients (as the generator writes them, "t"/"f"): the
    loader refuses with the message the rules module gives a household registered with those members."""
    loader = RegistryCopyLoader()
    chunk = with_member(family_chunk(loader, village), 1, role=role, primary=primary)
    with_member(chunk, 0, role="head", primary="t" if primary == "t" else "f")
    with pytest.raises(ValidationError) as error:
        loader.write(chunk)
    assert error.value.messages == [message]
    current = [(m[1], m[2], m[3] == "t", village.pk) for m in chunk.members if m[5] is None]
    with pytest.raises(ValidationError) as single:
        rules.new_household_members_check(code="HH-1", members=current)
    assert single.value.message_dict == {field: [message]}
    assert not Household.objects.exists() and not Individual.objects.exists()


def test_an_ended_membership_counts_for_no_rule(village):
    """The child who moved away was once the head and a primary recipient: no longer counted."""
    loader = RegistryCopyLoader()
    chunk = with_member(family_chunk(loader, village), 2, role="head", primary="t")
    assert loader.write(chunk)["households"] == 1
    assert Household.objects.get(code="HH-1").size == 2


def test_a_chunk_the_database_refuses_leaves_nothing_half_written(village):
    loader = RegistryCopyLoader()
    loader.write(family_chunk(loader, village))
    counts = (Household.objects.count(), Individual.objects.count(), HouseholdMember.objects.count())
    again = family_chunk(loader, village, code="HH-2")
    again.documents[0] = (again.individuals[0][0], "national_id", "HH-1-NID")  # already someone's
    with pytest.raises(ValidationError, match="The database refused a chunk of 1 households; nothing of it"):
        loader.write(again)
    assert (Household.objects.count(), Individual.objects.count(), HouseholdMember.objects.count()) == counts
    assert IdentityDocument.objects.count() == 2


def test_locations_get_paths_and_depths_and_taken_codes_are_refused(village):
    (district,) = locations_load([("V1-D1", "District", village, None, None)])
    district.refresh_from_db()
    assert district.depth == 1 and district.path.startswith(village.path) and district.parent == village
    with pytest.raises(ValidationError, match="V1 are already used"):
        locations_load([("NEW", "New", None, None, None), ("V1", "Again", None, None, None)])
    assert not Location.objects.filter(code="NEW").exists()
