"""The sign-in audit trail: one SignInEvent per sign-in, failure, sign-out and two-factor step."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from identity.models import SignInEvent, SignInEventKind, UserSession


def _address(request: HttpRequest | None) -> str | None:
    # django-axes' middleware sets the client's address with the portal's trusted-proxy rule (one rule).
    return getattr(request, "axes_ip_address", None) or None


def event_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    actor: Any = None,
    detail: str = "",
) -> SignInEvent:
    """Write one event of the sign-in audit trail."""
    agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return SignInEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        actor=actor,
        ip_address=_address(request),
        user_agent=agent,
        detail=detail[:300],
    )


def signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # A single sign-on says so (identity.sso_views), with any remark on what the directory sent.
    detail = getattr(request, "sign_in_detail", "")
    event_record(kind=SignInEventKind.SIGNED_IN, request=request, user=user, detail=detail)
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.update_or_create(
            session_key=key,
            defaults={
                "user": user,
                "ip_address": _address(request),
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],  # type: ignore[union-attr]
            },
        )


def signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        event_record(kind=SignInEventKind.SIGNED_OUT, request=request, user=user)
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The user name tried is kept (it may be mistyped or unknown); never the password. A single sign-on
    # that failed (no user name: the provider's callback) is recorded with its reason by identity.sso_views.
    if "username" not in credentials:
        return
    event_record(
        kind=SignInEventKind.SIGN_IN_FAILED, request=request, username=str(credentials.get("username", ""))
    )
