"""Reads from the registry, scoped to what the user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Func, Q, QuerySet
from django.db.models.functions import Collate, Upper

from approvals.selectors import user_in_roles
from registry.models import Household, Individual, Location

ADMINISTRATOR_ROLE = "Administrator"


def user_sees_everywhere(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers and administrators are not limited to locations."""
    return user_in_roles(user, (ADMINISTRATOR_ROLE,))


def user_location_paths(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Materialised paths of the locations on the user's profile (cached on the user object)."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_location_paths", None)
    if cached is None:
        cached = list(Location.objects.filter(user_profiles__user=user).values_list("path", flat=True))
        user._location_paths = cached
    return cached


def location_scope_q(user: AbstractBaseUser | AnonymousUser, *, field: str = "location") -> Q:
    """A filter keeping rows whose `field` lies in one of the user's locations (or below)."""
    if user_sees_everywhere(user):
        return Q()
    paths = user_location_paths(user)
    if not paths:
        return Q(pk__in=[])
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{field}__path__startswith": path})
    return condition


def location_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Location]:
    """Locations the user may see: the subtrees of their profile's locations (everything for administrators)."""
    qs = Location.objects.all()
    if user_sees_everywhere(user):
        return qs
    paths = user_location_paths(user)
    if not paths:
        return qs.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return qs.filter(condition)


def location_subtree(*, location: Location) -> QuerySet[Location]:
    return Location.objects.filter(path__startswith=location.path)


def individual_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Individual]:
    return Individual.objects.filter(location_scope_q(user)).select_related("location")


def household_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Household]:
    return Household.objects.filter(location_scope_q(user)).select_related("location")


def name_order_key(field: str) -> Func:
    """UPPER(name) as the name indexes hold it: in the "C" collation on PostgreSQL (migration 0007), so a
    list ordered by name reads its page off the index instead of sorting every row."""
    key = Upper(field)
    return Collate(key, "C") if connection.vendor == "postgresql" else key
