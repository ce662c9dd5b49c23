"""Location scope: who sees everywhere, the user's location paths, and the filter that keeps their rows."""

from __future__ import annotations

from django.db.models import Q

from access.hooks import provided
from access.roles import SEES_EVERYWHERE_ROLES, User, user_in_roles


def user_sees_everywhere(user: User) -> bool:
    """Superusers and administrators are not limited to locations."""
    return user_in_roles(user, SEES_EVERYWHERE_ROLES)


def user_location_paths(user: User) -> list[str]:
    """Materialised paths of the locations on the user's profile (cached on the user object)."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_location_paths", None)
    if cached is None:
        cached = list(provided("location_paths")(user))
        user._location_paths = cached
    return cached


def paths_q(paths: list[str], *, field: str = "path") -> Q:
    """Rows whose `field` (a materialised path) lies in one of these subtrees; nothing when no path."""
    if not paths:
        return Q(pk__in=[])
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{field}__startswith": path})
    return condition


def path_scope_q(user: User, *, path_field: str) -> Q:
    """Rows whose materialised location path (`path_field`, e.g. "location__path" or a denormalised
    "location_path") lies in the user's locations or below; every row for those who see everywhere."""
    if user_sees_everywhere(user):
        return Q()
    return paths_q(user_location_paths(user), field=path_field)


def location_scope_q(user: User, *, field: str = "location") -> Q:
    """A filter keeping rows whose `field` (a location) lies in one of the user's locations (or below)."""
    return path_scope_q(user, path_field=f"{field}__path")


def location_path_in_scope(user: User, path: str | None) -> bool:
    """Is a location (by its path) inside the user's scope? No location: only for those who see everywhere."""
    if user_sees_everywhere(user):
        return True
    return path is not None and any(path.startswith(own) for own in user_location_paths(user))
