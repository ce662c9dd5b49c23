"""The portal speaks each user's preferred language (from their profile), chosen once at sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation

SESSION_KEY = "portal_language"


def language_remember_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Keep the profile's language in the session, so no request pays a query for it."""
    from portal.models import UserProfile

    if request is None or not hasattr(request, "session"):
        return
    language = UserProfile.objects.filter(user=user).values_list("preferred_language", flat=True).first()
    if language:
        request.session[SESSION_KEY] = language


class ProfileLanguageMiddleware:
    """After LocaleMiddleware and authentication: a signed-in user's own language wins over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
