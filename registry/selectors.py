"""Reads from the registry, scoped to what the user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Func, QuerySet
from django.db.models.functions import Collate, Upper

from access.hooks import provided_if_any
from access.records import records_in_scope
from access.scope import paths_q, user_location_paths, user_sees_everywhere
from registry.models import Household, Individual, Location


def location_paths_of(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Paths of the locations on the user's profile in force today (a scope grant's dates); handed to
    `access` by the registry's ready()."""
    locations = Location.objects.filter(user_profiles__user=user)
    out_of_force = provided_if_any("locations_out_of_force")
    if out_of_force is not None:
        locations = locations.exclude(pk__in=out_of_force(user))
    return list(locations.values_list("path", flat=True))


def location_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Location]:
    """Locations the user may see: the subtrees of their profile's locations (all for administrators)."""
    qs = Location.objects.all()
    if user_sees_everywhere(user):
        return qs
    paths = user_location_paths(user)
    if not paths:
        return qs.none()
    return qs.filter(paths_q(paths))


def location_subtree(*, location: Location) -> QuerySet[Location]:
    return Location.objects.filter(path__startswith=location.path)


def individual_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Individual]:
    return records_in_scope(Individual.objects.select_related("location"), user=user)


def household_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Household]:
    return records_in_scope(Household.objects.select_related("location"), user=user)


def name_order_key(field: str) -> Func:
    """UPPER(name) as the name indexes hold it: in the "C" collation on PostgreSQL (migration 0007), so a
    list ordered by name reads its page off the index instead of sorting every row."""
    key = Upper(field)
    return Collate(key, "C") if connection.vendor == "postgresql" else key
