"""The locations single sign-on gives a user (identity.hooks): set on their profile, by location code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from portal.models import UserProfile
from registry.models import Location


@transaction.atomic
def user_locations_set(user: Any, codes: list[str]) -> None:
    """Make the locations of these codes the user's location scope (unknown codes give nothing)."""
    profile, _created = UserProfile.objects.get_or_create(user=user)
    wanted = set(Location.objects.filter(code__in=codes).values_list("pk", flat=True))
    current = set(profile.locations.values_list("pk", flat=True))
    if wanted != current:
        profile.locations.set(wanted)  # one change on the profile's history


def location_codes_unknown(codes: Iterable[str]) -> list[str]:
    codes = sorted(set(codes))
    known = set(Location.objects.filter(code__in=codes).values_list("code", flat=True))
    return [code for code in codes if code not in known]
