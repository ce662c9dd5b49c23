"""Before anything else, a signed-in user who must use two factors enrols or gives a code."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from identity.policy import user_two_factor_state
from identity.sso import PROVIDER_MFA_SESSION_KEY


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: send an unverified user to verify (has an authenticator) or enrol.

    A single sign-on whose provider asserted multi-factor sign-in counts as verified when the settings say
    so (OIDC_MFA_SATISFIES_TWO_FACTOR, identity.sso.provider_mfa_asserted).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_paths: tuple[str, ...] | None = None

    def open_paths(self) -> tuple[str, ...]:
        # Pages an unverified user may reach: the two-factor pages themselves, signing in and out, static files.
        if self._open_paths is None:
            self._open_paths = (
                reverse("identity:enrol"),
                reverse("identity:verify"),
                reverse("admin:login"),
                reverse("admin:logout"),
                reverse("admin:jsi18n"),
                reverse("sso:start"),
                reverse("sso:callback"),
                "/" + settings.STATIC_URL.lstrip("/"),
            )
        return self._open_paths

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.TWO_FACTOR_ENFORCE
            and user.is_authenticated
            and not user.is_verified()  # type: ignore[union-attr]
            and not request.session.get(PROVIDER_MFA_SESSION_KEY)
            and not request.path.startswith(self.open_paths())
        ):
            has_device, required = user_two_factor_state(user)
            if has_device or required:
                page = "identity:verify" if has_device else "identity:enrol"
                return HttpResponseRedirect(f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


ACTIVE_COOKIE = "portal_active"
ACTIVE_SALT = "identity.active"


def _session_digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def idle_seconds(user: Any) -> int:
    """How long this user's session may stay idle: shorter for the roles that need two factors."""
    _has_device, privileged = user_two_factor_state(user)
    minutes = settings.SESSION_IDLE_MINUTES_PRIVILEGED if privileged else settings.SESSION_IDLE_MINUTES
    return int(minutes * 60)


class IdleSessionMiddleware:
    """A session idle for longer than its limit ends: the next request signs the user out.

    The last activity is a signed, timestamped cookie bound to the session (renewed on each response), not
    a database write: a GET stays a read, and the cookie cannot be made younger without the secret key.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        key = request.session.session_key
        if settings.SESSION_IDLE_ENFORCE and user.is_authenticated and key:
            limit = idle_seconds(user)
            seen = request.get_signed_cookie(ACTIVE_COOKIE, default=None, salt=ACTIVE_SALT, max_age=limit)
            if seen != _session_digest(key):
                logout(request)
                messages.warning(request, _("You were signed out after a time without activity."))
                login = reverse("admin:login")
                return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        response = self.get_response(request)
        user = request.user
        key = request.session.session_key
        if settings.SESSION_IDLE_ENFORCE and user.is_authenticated and key:
            response.set_signed_cookie(
                ACTIVE_COOKIE,
                _session_digest(key),
                salt=ACTIVE_SALT,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        elif request.COOKIES.get(ACTIVE_COOKIE) and not user.is_authenticated:
            response.delete_cookie(ACTIVE_COOKIE)
        return response
