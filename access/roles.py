"""Role names (Django groups) and the one check "is this user in one of these roles?"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import QuerySet

from access.hooks import optional

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
    out_of_force = optional("roles_out_of_force")
    if out_of_force is not None:
        groups = groups.exclude(pk__in=out_of_force(user))
    return groups


def user_in_roles(user: User, roles: tuple[str, ...]) -> bool:
    """Is this active user a superuser or in one of these roles (groups)? Cached on the user object."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache: dict[tuple[str, ...], bool] = user.__dict__.setdefault("_in_roles", {})
    if roles not in cache:
        cache[roles] = _roles_in_force(user).filter(name__in=roles).exists()
    return cache[roles]


def user_sees_sensitive_cases(user: User) -> bool:
    """Does this user see grievances of sensitive categories? Only holders of the designated role (and
    superusers); administrators and auditors do not, unless they hold it too."""
    return user_in_roles(user, (SENSITIVE_CASE_OFFICER,))


def user_holds_every_role(user: User) -> bool:
    """Active superusers hold every role, present and future (an approval level's role included)."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def user_role_ids(user: User) -> QuerySet[Any]:
    """The ids of the user's roles (groups) in force, as a subquery: `role__in=user_role_ids(user)`."""
    if not user.is_authenticated or not user.is_active:
        return Group.objects.none().values("pk")
    return _roles_in_force(user).values("pk")


def user_holds_role_id(user: User, role_id: int) -> bool:
    """Does this active user hold the role (group) with this id? Superusers hold every role. Cached."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached: set[int] | None = user.__dict__.get("_role_ids")
    if cached is None:
        cached = set(_roles_in_force(user).values_list("pk", flat=True))
        user.__dict__["_role_ids"] = cached
    return role_id in cached


def users_in_roles(roles: tuple[str, ...]) -> QuerySet[Any]:
    """Active users holding one of these roles (superusers too): the people a form may offer for a task."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    return (
        get_user_model()
        .objects.filter(Q(groups__name__in=roles) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )
