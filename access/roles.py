"""Role names (Django groups) and the one check "is this user in one of these roles?"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import QuerySet

User = AbstractBaseUser | AnonymousUser

REGISTRY_OFFICER = "Registry officer"
PROGRAMME_OFFICER = "Programme officer"
APPROVER = "Approver"
PAYMENT_OFFICER = "Payment officer"
GRIEVANCE_OFFICER = "Grievance officer"
AUDITOR = "Auditor"
ADMINISTRATOR = "Administrator"

# Not limited to locations: they see (and administer) everywhere.
SEES_EVERYWHERE_ROLES = (ADMINISTRATOR,)
# See every benefit plan (locations still limit their beneficiaries); others need the object permission.
SEES_ALL_PLANS_ROLES = (ADMINISTRATOR, AUDITOR, APPROVER)


def _roles_held(user: User) -> dict[int, str]:
    """The user's roles (group id: name), read once per user object (a request's user): every role check
    of the request answers from it."""
    cached: dict[int, str] | None = user.__dict__.get("_roles_held")
    if cached is None:
        cached = dict(user.groups.values_list("pk", "name"))
        user.__dict__["_roles_held"] = cached
    return cached


def user_in_roles(user: User, roles: tuple[str, ...]) -> bool:
    """Is this active user a superuser or in one of these roles (groups)? Cached on the user object."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return not set(roles).isdisjoint(_roles_held(user).values())


def user_holds_every_role(user: User) -> bool:
    """Active superusers hold every role, present and future (an approval level's role included)."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def user_role_ids(user: User) -> QuerySet[Any]:
    """The ids of the user's roles (groups), for `role__in=user_role_ids(user)`: the ids read once per
    request, so the filter is a short list of constants, not a join per query."""
    if not user.is_authenticated or not user.is_active:
        return Group.objects.none().values("pk")
    return Group.objects.filter(pk__in=sorted(_roles_held(user))).values("pk")


def user_holds_role_id(user: User, role_id: int) -> bool:
    """Does this active user hold the role (group) with this id? Superusers hold every role. Cached."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return role_id in _roles_held(user)
