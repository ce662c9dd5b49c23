"""Who must sign in with two factors: the one place that answers it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db.models import Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.roles import user_role_ids


def two_factor_default_roles() -> tuple[str, ...]:
    """Roles that require two factors when an administrator has not set a rule for them."""
    return tuple(settings.TWO_FACTOR_DEFAULT_ROLES)


def user_requires_two_factor(user: Any) -> bool:
    """Must this user sign in with a code? Superusers always; others when one of their roles says so.

    A role's rule (RoleSecurity, edited in the admin) wins; a role without a rule follows
    TWO_FACTOR_DEFAULT_ROLES (approvers, payment officers and administrators).
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        Group.objects.filter(pk__in=user_role_ids(user))
        .filter(
            Q(security__two_factor_required=True)
            | Q(security__isnull=True, name__in=two_factor_default_roles())
        )
        .exists()
    )


def user_has_two_factor(user: Any) -> bool:
    """Has this user a confirmed authenticator app?"""
    return bool(user.is_authenticated) and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_enrolment_pending(*, user: Any) -> TOTPDevice | None:
    """The authenticator this user started to enrol and has not confirmed yet."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
