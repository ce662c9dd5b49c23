"""Role names (Django groups) and the one check "is this user in one of these roles?"."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

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


def user_in_roles(user: User, roles: tuple[str, ...]) -> bool:
    """Is this active user a superuser or in one of these roles (groups)? Cached on the user object."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache: dict[tuple[str, ...], bool] = user.__dict__.setdefault("_in_roles", {})
    if roles not in cache:
        cache[roles] = user.groups.filter(name__in=roles).exists()
    return cache[roles]
