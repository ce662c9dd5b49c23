"""Single sign-on through the ministry's OpenID Connect provider (mozilla-django-oidc), when configured.

The provider's endpoints (from settings or its discovery document), the checks of its ID token (issuer,
audience, expiry, signature, nonce), the claims read from it, and the authentication backend that hands
the verified claims to `identity.services.directory_sign_in`. A refusal is a `SsoRefused`: its reason goes
on the audit trail, its message to the user says nothing an attacker could use.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

DISCOVERY_SECONDS = 3600
# Set in the session when the provider's multi-factor sign-in stands for the portal's two-factor step.
PROVIDER_MFA_SESSION_KEY = "identity_provider_mfa"

_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}

# What the user is told: the reason itself is only on the audit trail.
NOT_VERIFIED = _(
    "Single sign-on did not succeed: the directory's answer could not be verified. Start again from the "
    "sign-in page, or ask your administrator."
)
UNREACHABLE = _("The directory cannot be reached now. Try again in a few minutes.")
PROVIDER_REFUSED = _("The directory did not sign you in.")
NO_ROLE = _("Your directory account gives you no role in this portal. Ask your administrator for access.")
INACTIVE = _("This account is disabled in the portal. Ask your administrator.")
NOT_LINKED = _(
    "Your directory account is not linked to a portal account yet. Ask your administrator to link it."
)


class SsoRefused(Exception):
    """A single sign-on refused: `reason` for the audit trail, `message` for the user."""

    def __init__(self, reason: str, message: Any = NOT_VERIFIED, *, username: str = "", user: Any = None):
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.username = username
        self.user = user


def sso_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def sso_provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or str(_("the ministry's directory"))


def _discovery() -> dict[str, Any]:
    issuer = settings.OIDC_ISSUER
    key = "identity:sso:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()[:32]
    document = cache.get(key)
    if document is None:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise SsoRefused("the discovery document names another issuer")
        cache.set(key, document, DISCOVERY_SECONDS)
    return document


def oidc_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, with each provider endpoint not set taken from discovery."""
    if attr in _ENDPOINTS:
        value = getattr(settings, attr, "") or _discovery().get(_ENDPOINTS[attr])
        if not value:
            raise SsoRefused(f"the provider gives no {_ENDPOINTS[attr]}")
        return value
    return import_from_settings(attr, *args)


def claim_values(claims: dict[str, Any], path: str) -> list[str]:
    """The values of a claim (a dotted path reads inside objects): a list, or one string, as strings."""
    value: Any = claims
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str | int):
        return [str(value)] if str(value).strip() else []
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int) and str(item).strip()]
    return []


def provider_mfa_asserted(id_claims: dict[str, Any]) -> bool:
    """Does the ID token say the user signed in with several factors, in a way the portal accepts?"""
    if not settings.OIDC_MFA_SATISFIES_TWO_FACTOR:
        return False
    methods = set(claim_values(id_claims, "amr"))
    if methods & set(settings.OIDC_MFA_AMR_VALUES):
        return True
    return bool(settings.OIDC_MFA_ACR_VALUES) and id_claims.get("acr") in settings.OIDC_MFA_ACR_VALUES


_TOKEN_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired ID token"),
    (jwt.InvalidAudienceError, "ID token for another audience"),
    (jwt.InvalidIssuerError, "ID token from another issuer"),
    (jwt.InvalidSignatureError, "bad ID token signature"),
    (jwt.ImmatureSignatureError, "ID token not valid yet"),
    (jwt.MissingRequiredClaimError, "ID token without a required claim"),
    (jwt.InvalidTokenError, "invalid ID token"),
)


class DirectoryBackend(OIDCAuthenticationBackend):
    """Signs in through the provider's callback only; gives no permission of its own (RoleGrantModelBackend
    does, from the roles in force)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every sign-in (passwords too): read the provider's settings only
        # when a callback asks this one.
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if request is None or "nonce" not in kwargs or "password" in kwargs or not sso_enabled():
            return None
        try:
            super().__init__()
            return super().authenticate(request, **kwargs)
        except SsoRefused as refusal:
            request.sso_refusal = refusal
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else ""
            request.sso_refusal = SsoRefused(f"the provider refused the exchange ({status})")
        except (requests.RequestException, ValueError) as exc:
            request.sso_refusal = SsoRefused(f"provider unreachable ({type(exc).__name__})", UNREACHABLE)
        except SuspiciousOperation as exc:
            request.sso_refusal = SsoRefused(str(exc)[:200])
        return None

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        try:
            algorithm = jwt.get_unverified_header(payload).get("alg")
        except jwt.InvalidTokenError as exc:
            raise SsoRefused("malformed ID token") from exc
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SsoRefused(f"ID token signed with {str(algorithm)[:20]}, not {self.OIDC_RP_SIGN_ALGO}")
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[algorithm],
                audience=settings.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=settings.OIDC_CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            reason = next(text for kind, text in _TOKEN_ERRORS if isinstance(exc, kind))
            raise SsoRefused(reason) from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != settings.OIDC_RP_CLIENT_ID:
            raise SsoRefused("ID token authorised for another client (azp)")
        return claims

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return super().verify_token(token, **kwargs)
        except SuspiciousOperation as exc:
            reason = "replayed or foreign nonce" if "Nonce" in str(exc) else str(exc)[:200]
            raise SsoRefused(reason) from exc
        except jwt.PyJWTError as exc:
            raise SsoRefused("unusable signing key") from exc

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        from identity.services import directory_sign_in

        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or str(userinfo.get("sub")) != str(payload["sub"]):
            raise SsoRefused("user information of another subject")
        claims = {**payload, **userinfo, "iss": payload["iss"], "sub": payload["sub"]}
        user = directory_sign_in(issuer=payload["iss"], claims=claims, request=self.request)
        self.request.sso_mfa = provider_mfa_asserted(payload)
        return user

    # Permissions come from RoleGrantModelBackend alone (roles in force); ModelBackend's would count
    # every membership.
    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return False

    def with_perm(self, *args: Any, **kwargs: Any) -> Any:
        return self.UserModel._default_manager.none()
