"""Who must sign in with two factors: the one place that answers it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
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


# What is known of a user's two factors is cached this long (in the cache, not the session: a GET writes
# nothing): two small queries per user every few minutes, not per request. A role given in the meantime is
# enforced at the next look; enrolment and reset clear it at once.
STATE_SECONDS = 300


def state_cache_key(user_pk: int) -> str:
    return f"identity:two-factor:{user_pk}"


def user_two_factor_state(user: Any) -> tuple[bool, bool]:
    """(has an authenticator, must use one), cached a few minutes per user."""
    key = state_cache_key(user.pk)
    state = cache.get(key)
    if state is None:
        state = (user_has_two_factor(user), user_requires_two_factor(user))
        cache.set(key, state, STATE_SECONDS)
    return bool(state[0]), bool(state[1])
