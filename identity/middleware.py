"""Before anything else, a signed-in user who must use two factors enrols or gives a code."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from identity.policy import user_has_two_factor, user_requires_two_factor
from identity.services import state_cache_key

# What the middleware learned about a user is cached this long (in the cache, not the session: a GET
# writes nothing): two small queries per user every few minutes, not per request. A role given in the
# meantime is enforced at the next look; enrolment and reset clear it at once.
STATE_SECONDS = 300


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: send an unverified user to verify (has an authenticator) or enrol."""

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
                "/" + settings.STATIC_URL.lstrip("/"),
            )
        return self._open_paths

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.TWO_FACTOR_ENFORCE
            and user.is_authenticated
            and not user.is_verified()  # type: ignore[union-attr]
            and not request.path.startswith(self.open_paths())
        ):
            has_device, required = self._state(request)
            if has_device or required:
                page = "identity:verify" if has_device else "identity:enrol"
                return HttpResponseRedirect(f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _state(request: HttpRequest) -> tuple[bool, bool]:
        key = state_cache_key(request.user.pk)
        state = cache.get(key)
        if state is None:
            state = (user_has_two_factor(request.user), user_requires_two_factor(request.user))
            cache.set(key, state, STATE_SECONDS)
        return bool(state[0]), bool(state[1])
