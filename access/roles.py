"""Role names (Django groups) and the one check "is this user in one of these roles?"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import QuerySet
from django.utils.functional import LazyObject, empty

from access.hooks import provided_if_any

User = AbstractBaseUser | AnonymousUser

REGISTRY_OFFICER = "Registry officer"
PROGRAMME_OFFICER = "Programme officer"
APPROVER = "Approver"
PAYMENT_OFFICER = "Payment officer"
GRIEVANCE_OFFICER = "Grievance officer"
# The designated role that alone sees grievances of sensitive categories (gender-based violence, fraud).
SENSITIVE_CASE_OFFICER = "Sensitive case officer"
AUDITOR = "Auditor"
ADMINISTRATOR = "Administrator"
VERIFIER = "Verifier"

# Not limited to locations: they see (and administer) everywhere.
SEES_EVERYWHERE_ROLES = (ADMINISTRATOR,)
# See every benefit plan (locations still limit their beneficiaries); others need the object permission.
SEES_ALL_PLANS_ROLES = (ADMINISTRATOR, AUDITOR, APPROVER)
# May be assigned a payroll's verification sample and record what the people paid say.
VERIFIES_PAYMENTS_ROLES = (PAYMENT_OFFICER, VERIFIER)


def _roles_in_force(user: User) -> QuerySet[Any]:
    """The user's roles (groups) in force today: a role granted with dates gives nothing outside them."""
    groups = user.groups.all()
    out_of_force = provided_if_any("roles_out_of_force")
    if out_of_force is not None:
        groups = groups.exclude(pk__in=out_of_force(user))
    return groups


def _real(user: User) -> Any:
    """The user object behind request.user's lazy wrappers (auth's, django-otp's), where caches belong: the
    permission backend is handed the real object, access the wrapper, and both must share one cache."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


def _roles_held(user: User) -> dict[int, str]:
    """The user's roles in force (group id: name), read once per user object (a request's user): every
    role check of the request answers from it."""
    real = _real(user)
    cached: dict[int, str] | None = real.__dict__.get("_roles_held")
    if cached is None:
        cached = dict(_roles_in_force(real).values_list("pk", "name"))
        real.__dict__["_roles_held"] = cached
    return cached


def user_in_roles(user: User, roles: tuple[str, ...]) -> bool:
    """Is this active user a superuser or in one of these roles (groups)? Cached on the user object."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return not set(roles).isdisjoint(_roles_held(user).values())


def user_sees_sensitive_cases(user: User) -> bool:
    """Does this user see grievances of sensitive categories? Only holders of the designated role (and
    superusers); administrators and auditors do not, unless they hold it too."""
    return user_in_roles(user, (SENSITIVE_CASE_OFFICER,))


def user_holds_every_role(user: User) -> bool:
    """Active superusers hold every role, present and future (an approval level's role included)."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def user_role_ids(user: User) -> QuerySet[Any]:
    """The ids of the user's roles (groups), for `role__in=user_role_ids(user)`: the ids read once per
    request, so the filter is a short list of constants, not a join per query."""
    if not user.is_authenticated or not user.is_active:
        return Group.objects.none().values("pk")
    return Group.objects.filter(pk__in=sorted(_roles_held(user))).values("pk")


def user_role_ids_held(user: User) -> list[int]:
    """The ids of the user's roles in force, sorted (read once per request): e.g. for a cache key."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(_roles_held(user))


def user_holds_role_id(user: User, role_id: int) -> bool:
    """Does this active user hold the role (group) with this id? Superusers hold every role. Cached."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return role_id in _roles_held(user)


def users_in_roles(roles: tuple[str, ...]) -> QuerySet[Any]:
    """Active users holding one of these roles (superusers too): the people a form may offer for a task."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    holders = provided_if_any("role_holders_in_force")
    holding = Q(pk__in=holders(roles)) if holders is not None else Q(groups__name__in=roles)
    return (
        get_user_model()
        .objects.filter(holding | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )
