"""The one role check every app shares ("is this user in one of these roles?").

It lives in `jobs`, the app every other one sits above, so registry, programmes, approvals
and jobs itself import it without pointing a dependency upwards; `approvals.selectors`
re-exports it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def user_in_roles(user: AbstractBaseUser | AnonymousUser, roles: tuple[str, ...]) -> bool:
    """Is this active user a superuser or in one of these roles (groups)? Cached on the user object.

    The one place the "sees everything" checks of every app (registry, programmes, approvals, jobs)
    are answered.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache: dict[tuple[str, ...], bool] = user.__dict__.setdefault("_in_roles", {})
    if roles not in cache:
        cache[roles] = user.groups.filter(name__in=roles).exists()
    return cache[roles]
