"""Registry test builders: people and households placed in the shared location tree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import count
from typing import Any

import pytest

from registry.models import Household, Individual, Location
from registry.services import household_create, household_member_add, individual_create

_serial = count(1)


@pytest.fixture
def make_individual(db) -> Callable[..., Individual]:
    """make_individual(location, given_name=..., documents=[("national_id", "123")], ...)."""

    def build(location: Location, **fields: Any) -> Individual:
        number = next(_serial)
        fields.setdefault("given_name", f"Given{number}")
        fields.setdefault("family_name", f"Family{number}")
        fields.setdefault("sex", "F")
        fields.setdefault("birth_date", date(1990, 1, 1))
        return individual_create(location=location, **fields)

    return build


@pytest.fixture
def make_household(db, make_individual) -> Callable[..., Household]:
    """make_household(location, members=3): a head, then children; sizes kept by the services."""

    def build(location: Location, *, members: int = 0, **fields: Any) -> Household:
        fields.setdefault("code", f"HH-{next(_serial):06d}")
        household = household_create(location=location, **fields)
        for index in range(members):
            household_member_add(
                household=household,
                individual=make_individual(location),
                role="head" if index == 0 else "child",
                is_primary_recipient=index == 0,
            )
        household.refresh_from_db()
        return household

    return build
