"""The household rules (registry/rules.py) hold the same through the single services and the bulk writes: each
case runs through both paths and must be accepted with the same stored state, or refused (the bulk path naming
the rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count

from registry import bulk
from registry.models import Household, HouseholdMember, Individual
from registry.services import household_create, household_member_add, individual_create

pytestmark = pytest.mark.django_db

# A member: (given name, role, designated primary recipient, lives elsewhere than the household).
Member = tuple[str, str, bool, bool]


@dataclass(frozen=True)
class Case:
    name: str
    joining: list[Member]
    existing: list[tuple[str, str, bool | None]] = field(default_factory=list)  # None: no household yet
    accepted: list[tuple[str, str, bool]] | None = None  # the members stored: (given name, role, primary)
    refused_rows: list[int] = field(default_factory=list)  # the joining rows (1-based) a bulk write names

    @property
    def new_household(self) -> bool:
        return not self.existing


CASES = [
    Case(
        "the head is the primary recipient when nobody is designated",
        joining=[
            ("Ada", "head", False, False),
            ("Bo", "spouse", False, False),
            ("Cy", "child", False, False),
        ],
        accepted=[("Ada", "head", True), ("Bo", "spouse", False), ("Cy", "child", False)],
    ),
    Case(
        "a designated member is the primary recipient instead of the head",
        joining=[("Ada", "head", False, False), ("Bo", "spouse", True, False)],
        accepted=[("Ada", "head", False), ("Bo", "spouse", True)],
    ),
    Case(
        "the head may be designated",
        joining=[("Ada", "head", True, False), ("Bo", "child", False, False)],
        accepted=[("Ada", "head", True), ("Bo", "child", False)],
    ),
    Case(
        "two heads are refused",
        joining=[("Ada", "head", False, False), ("Bo", "head", False, False), ("Cy", "child", False, False)],
        refused_rows=[1, 2, 3],  # the child's household is left without a head
    ),
    Case(
        "a new household without a head is refused",
        joining=[("Ada", "spouse", False, False), ("Bo", "child", False, False)],
        refused_rows=[1, 2],
    ),
    Case(
        "two designated primary recipients are refused",
        joining=[("Ada", "head", False, False), ("Bo", "spouse", True, False), ("Cy", "child", True, False)],
        refused_rows=[2, 3],
    ),
    Case(
        "a member living elsewhere than the head is refused",
        joining=[("Ada", "head", False, False), ("Bo", "child", False, True)],
        refused_rows=[2],
    ),
    Case(
        "a member joins an existing household, whose size follows",
        existing=[("Eve", "head", None)],
        joining=[("Ada", "child", False, False)],
        accepted=[("Ada", "child", False), ("Eve", "head", True)],
    ),
    Case(
        "a second head for an existing household is refused",
        existing=[("Eve", "head", None)],
        joining=[("Ada", "head", False, False)],
        refused_rows=[1],
    ),
    Case(
        "a second primary recipient for an existing household is refused",
        existing=[("Eve", "head", None)],
        joining=[("Ada", "spouse", True, False)],
        refused_rows=[1],
    ),
    Case(
        "a head joining a household without one becomes its primary recipient",
        existing=[("Eve", "child", None)],
        joining=[("Ada", "head", False, False)],
        accepted=[("Ada", "head", True), ("Eve", "child", False)],
    ),
]


def _existing_household(tree) -> Household | None:
    return Household.objects.filter(code="H1").first()


def _person(tree, name: str, elsewhere: bool) -> Individual:
    location = tree.north_b if elsewhere else tree.north_a
    return individual_create(given_name=name, family_name="Rule", sex="F", location=location)


def _through_services(tree, case: Case) -> None:
    people = [
        (_person(tree, name, elsewhere), role, primary) for name, role, primary, elsewhere in case.joining
    ]
    if case.new_household:
        household_create(code="H1", location=tree.north_a, members=people)
        return
    household = _existing_household(tree)
    for individual, role, primary in people:
        household_member_add(
            household=household, individual=individual, role=role, is_primary_recipient=primary
        )


def _cast(sql_type: str) -> str:
    return f"CAST(%s AS {sql_type})" if connection.vendor == "postgresql" else "%s"


def _through_bulk(tree, case: Case) -> None:
    household = _existing_household(tree)
    columns = (
        f"{_cast('integer')} AS row_number, {_cast('varchar')} AS household_key, "
        f"{_cast('bigint')} AS household_id, {_cast('varchar')} AS role, "
        f"{_cast('boolean')} AS is_primary_recipient, {_cast('varchar')} AS given_name, "
        f"{_cast('varchar')} AS family_name, '' AS other_names, 'F' AS sex, {_cast('date')} AS birth_date, "
        f"{_cast('boolean')} AS birth_date_estimated, '' AS phone, {_cast('bigint')} AS location_id, "
        f"'{{}}' AS data, '{{}}' AS household_data"
    )
    selects, params = [], []
    for number, (name, role, primary, elsewhere) in enumerate(case.joining, start=1):
        location = tree.north_b if elsewhere else tree.north_a
        selects.append(f"SELECT {columns}")
        params += [
            number,
            "H1",
            household.pk if household else None,
            role,
            primary,
            name,
            "Rule",
            None,
            False,
        ]
        params.append(location.pk)
    bulk.locations_lock(source := bulk.Source(" UNION ALL ".join(selects), params))
    bulk.people_create(source=source)
    bulk.foreign_keys_check()


def _stored() -> tuple[list[tuple[str, str, bool]], int]:
    household = Household.objects.get(code="H1")
    members = HouseholdMember.objects.filter(household=household, end_date__isnull=True)
    return (
        sorted(members.values_list("individual__given_name", "role", "is_primary_recipient")),
        household.size,
    )


@pytest.mark.parametrize("path", ["services", "bulk"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_household_rules_hold_the_same_through_both_paths(tree, case: Case, path: str) -> None:
    if case.existing:
        household = household_create(code="H1", location=tree.north_a)
        for name, role, primary in case.existing:
            person = _person(tree, name, False)
            household_member_add(
                household=household, individual=person, role=role, is_primary_recipient=primary
            )
    before = _stored() if case.existing else None
    write = _through_services if path == "services" else _through_bulk

    if case.accepted is None:
        with pytest.raises(ValidationError) as refusal, transaction.atomic():
            write(tree, case)
        if path == "bulk":
            assert isinstance(refusal.value, bulk.BulkRefused)
            assert sorted(set(refusal.value.rows)) == case.refused_rows, refusal.value.messages
        assert (_stored() if case.existing else Household.objects.filter(code="H1").exists()) == (
            before or False
        )
        return

    write(tree, case)
    assert _stored() == (case.accepted, len(case.accepted))
    # Rule 4: one current household per person.
    assert not (
        HouseholdMember.objects.filter(end_date__isnull=True)
        .values("individual")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .exists()
    )
