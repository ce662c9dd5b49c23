"""Two-factor enrolment, verification and reset: every write of the identity app goes through here."""

from __future__ import annotations

import secrets
from importlib import import_module
from typing import Any

import django_otp
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.roles import ADMINISTRATOR, user_in_roles
from identity.audit import event_record
from identity.models import SignInEventKind
from identity.policy import state_cache_key

DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
RECOVERY_CODES = 10


def _token(value: str) -> str:
    return "".join(str(value).split()).lower()


def totp_enrolment_device(*, user: Any) -> TOTPDevice:
    """The authenticator being enrolled: a new secret, kept unconfirmed until the user gives a valid code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=DEVICE_NAME).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def _recovery_codes_new(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    # 16 characters (django-otp's token column), 60 random bits each: 8 hex digits, a hyphen, 7 more.
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)[:7]}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def totp_enrolment_confirm(*, request: HttpRequest, user: Any, token: str) -> list[str]:
    """Confirm the authenticator with a code it shows; return the recovery codes, shown to the user once.

    The confirmed device replaces any earlier one, and the session counts as verified with it.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=DEVICE_NAME).order_by("-pk").first()
    if device is None:
        raise ValidationError(
            {"token": _("Start the enrolment again: no authenticator is waiting for a code.")}
        )
    if not device.verify_token(_token(token)):
        event_record(kind=SignInEventKind.TWO_FACTOR_FAILED, request=request, user=user, detail="enrolment")
        raise ValidationError(
            {"token": _("This code is not valid. Enter the six digits your app shows now.")}
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_new(user)
        event_record(kind=SignInEventKind.TWO_FACTOR_ENROLLED, request=request, user=user)
    django_otp.login(request, device)
    cache.delete(state_cache_key(user.pk))
    return codes


def two_factor_verify(*, request: HttpRequest, user: Any, token: str) -> None:
    """Accept a code from the user's authenticator, or one of their recovery codes (each works once).

    A code already used (the same time step of the authenticator, a spent recovery code) is refused like a
    wrong one; repeated failures slow the device down (django-otp's throttling).
    """
    token = _token(token)
    device = None
    if token:
        device = django_otp.match_token(user, token)
    if device is None:
        event_record(kind=SignInEventKind.TWO_FACTOR_FAILED, request=request, user=user)
        raise ValidationError({"token": _("This code is not valid, or it has already been used.")})
    django_otp.login(request, device)
    kind = (
        SignInEventKind.RECOVERY_CODE_USED
        if isinstance(device, StaticDevice)
        else SignInEventKind.TWO_FACTOR_VERIFIED
    )
    event_record(kind=kind, request=request, user=user)


def recovery_codes_left(*, user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def two_factor_reset(*, user: Any, actor: Any, request: HttpRequest | None = None) -> int:
    """An administrator removes a user's authenticator and recovery codes: the user enrols again at next sign-in.

    Sessions the user verified with the removed device stop counting as verified on their next request.
    """
    if not user_in_roles(actor, (ADMINISTRATOR,)):
        raise PermissionDenied(_("Only an administrator can reset two-factor sign-in."))
    if actor.pk == user.pk:
        raise PermissionDenied(_("Another administrator must reset your own two-factor sign-in."))
    removed = (
        TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]
    )
    event_record(kind=SignInEventKind.TWO_FACTOR_RESET, request=request, user=user, actor=actor)
    transaction.on_commit(lambda: cache.delete(state_cache_key(user.pk)))
    return removed


def _grant_dates_check(starts_on: Any, ends_on: Any) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": _("A grant cannot end before it starts.")})


@transaction.atomic
def role_grant_save(
    *, user: Any, role: Any, starts_on: Any = None, ends_on: Any = None, actor: Any, grant: Any = None
) -> Any:
    """Give a role (or change the dates of one given): the membership and its dates together.

    Only administrators grant roles. The grant is in force from `starts_on` to `ends_on` included;
    outside them access leaves the role out at once, on the next request.
    """
    from identity.models import RoleGrant

    if not user_in_roles(actor, (ADMINISTRATOR,)):
        raise PermissionDenied(_("Only an administrator can grant roles."))
    _grant_dates_check(starts_on, ends_on)
    if grant is None:
        grant, _created = RoleGrant.objects.get_or_create(user=user, role=role)
    elif (grant.user_id, grant.role_id) != (user.pk, role.pk):
        raise ValidationError(
            {"role": _("A grant's user and role cannot change: remove it and grant the new one.")}
        )
    grant.starts_on, grant.ends_on, grant.granted_by = starts_on, ends_on, grant.granted_by or actor
    grant.notice_sent_on = None
    grant.expiry_recorded = False
    grant.full_clean()
    grant.save()
    user.groups.add(role)
    return grant


@transaction.atomic
def role_grant_revoke(*, grant: Any, actor: Any) -> None:
    """Take a role away: the membership goes, and its grant row with it (on the history)."""
    if not user_in_roles(actor, (ADMINISTRATOR,)):
        raise PermissionDenied(_("Only an administrator can take roles away."))
    grant.user.groups.remove(grant.role)


def _session_store(key: str) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)


def user_sessions_live(*, user: Any) -> list[Any]:
    """The user's sessions that still exist (a session that expired or was flushed is left out)."""
    from identity.models import UserSession

    sessions = list(UserSession.objects.filter(user=user).order_by("-signed_in_at")[:50])
    return [
        session for session in sessions if _session_store(session.session_key).exists(session.session_key)
    ]


@transaction.atomic
def user_sessions_end(*, user: Any, keep_key: str | None, session_ids: list[int] | None = None) -> int:
    """End the user's other sessions (all of them, or those chosen): they are signed out at once."""
    from identity.models import UserSession

    sessions = UserSession.objects.filter(user=user).exclude(session_key=keep_key or "")
    if session_ids is not None:
        sessions = sessions.filter(pk__in=session_ids)
    ended = 0
    for session in sessions:
        _session_store(session.session_key).delete()
        session.delete()
        ended += 1
    return ended


def _directory_username(claims: dict[str, Any]) -> str:
    from identity.sso import claim_values

    for path in (settings.OIDC_USERNAME_CLAIM, "email"):
        values = claim_values(claims, path) if path else []
        if values:
            return values[0][:150]
    return f"sso-{claims['sub']}"[:150]


def directory_role_grants_sync(
    *, user: Any, roles: set[Any], request: HttpRequest | None = None
) -> list[Any]:
    """The roles the directory gives a user, through their grants (source "single sign-on").

    Each role given and not held is granted; each role the directory gave earlier and gives no more is
    taken away (its grant row goes, on the history, and the end is on the audit trail). Roles given in the
    portal are left as they are. Returns the roles taken away.
    """
    from identity.models import RoleGrant, RoleGrantSource

    grants = {grant.role_id: grant for grant in RoleGrant.objects.filter(user=user).select_related("role")}
    wanted = {role.pk for role in roles}
    given = [role for role in roles if role.pk not in grants]
    for role in given:
        RoleGrant.objects.create(user=user, role=role, source=RoleGrantSource.DIRECTORY)
    if given:
        user.groups.add(*given)  # memberships_changed finds the grants made above
    ended = [
        g.role for g in grants.values() if g.source == RoleGrantSource.DIRECTORY and g.role_id not in wanted
    ]
    if ended:
        user.groups.remove(*ended)
        for role in ended:
            event_record(
                kind=SignInEventKind.ROLE_GRANT_ENDED,
                request=request,
                user=user,
                detail=f"single sign-on: {role.name} no longer given by the directory",
            )
    if given or ended:
        transaction.on_commit(lambda: cache.delete(state_cache_key(user.pk)))
    return ended


def directory_sign_in(*, issuer: str, claims: dict[str, Any], request: HttpRequest | None = None) -> Any:
    """The portal user of a directory account whose ID token was verified: created or updated, with the
    roles and locations its claims map to (DirectoryRoleMapping).

    Refused (identity.sso.SsoRefused) when the claims map to no role: the roles the directory gave earlier
    are ended first, so access follows the directory even when the person cannot sign in any more.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from identity.hooks import location_codes_unknown, user_locations_set
    from identity.models import DirectoryIdentity, DirectoryRoleMapping
    from identity.sso import INACTIVE, NO_ROLE, NOT_LINKED, SsoRefused, claim_values

    subject = str(claims["sub"])
    username = _directory_username(claims)
    values = claim_values(claims, settings.OIDC_ROLES_CLAIM)
    mappings = list(DirectoryRoleMapping.objects.filter(claim_value__in=values).select_related("role"))
    roles = {mapping.role for mapping in mappings if mapping.role_id}
    refusal = None
    with transaction.atomic():
        link = (
            DirectoryIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        user = link.user if link else None
        if user is not None and not user.is_active:
            raise SsoRefused(
                "account disabled in the portal", INACTIVE, username=user.get_username(), user=user
            )
        if not roles:
            if user is not None:
                directory_role_grants_sync(user=user, roles=set(), request=request)
            shown = ", ".join(values)[:200] or "none"
            refusal = SsoRefused(
                f"no role mapped to the claim values: {shown}", NO_ROLE, username=username, user=user
            )
        else:
            User = get_user_model()
            names = {
                "email": str(claims.get("email") or "")[:254],
                "first_name": str(claims.get("given_name") or "")[:150],
                "last_name": str(claims.get("family_name") or "")[:150],
            }
            if user is None:
                if User._default_manager.filter(username=username).exists():
                    raise SsoRefused(
                        "a portal account of this user name is linked to no directory account",
                        NOT_LINKED,
                        username=username,
                    )
                user = User._default_manager.create_user(username=username, is_staff=True, **names)
                user.set_unusable_password()
                user.save(update_fields=["password"])
                link = DirectoryIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            else:
                changed = [field for field, value in names.items() if value and getattr(user, field) != value]
                for field in changed:
                    setattr(user, field, names[field])
                if changed:
                    user.save(update_fields=changed)
            link.last_sign_in_at = timezone.now()
            link.save(update_fields=["last_sign_in_at"])
            directory_role_grants_sync(user=user, roles=roles, request=request)
            codes = {code for mapping in mappings for code in mapping.location_code_list()}
            if settings.OIDC_LOCATIONS_CLAIM:
                codes |= set(claim_values(claims, settings.OIDC_LOCATIONS_CLAIM))
            if (
                settings.OIDC_LOCATIONS_CLAIM
                or DirectoryRoleMapping.objects.exclude(location_codes="").exists()
            ):
                user_locations_set(user, sorted(codes))
                unknown = location_codes_unknown(codes)
                if unknown and request is not None:
                    request.sign_in_detail = f"unknown location codes: {', '.join(unknown)}"[:250]
    if refusal is not None:
        raise refusal
    return user
