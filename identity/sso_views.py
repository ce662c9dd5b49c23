"""The two single sign-on pages: start at the provider, and its callback. Both answer 404 when single
sign-on is not configured.

Starting is a GET (a link on the sign-in page, as every OpenID Connect client): it writes only the
handshake's state, nonce and PKCE verifier in the session. The callback signs the user in or refuses them
with a message, and puts either on the audit trail.
"""

from __future__ import annotations

from typing import Any

import requests
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from identity.audit import event_record
from identity.models import SignInEventKind
from identity.sso import (
    PROVIDER_MFA_SESSION_KEY,
    PROVIDER_REFUSED,
    UNREACHABLE,
    SsoRefused,
    oidc_setting,
    sso_enabled,
)


def sso_refused_response(request: HttpRequest, refusal: SsoRefused) -> HttpResponse:
    """Back to the sign-in page with a message saying nothing an attacker could use; the reason is logged."""
    event_record(
        kind=SignInEventKind.SSO_REFUSED,
        request=request,
        user=refusal.user,
        username=refusal.username,
        detail=refusal.reason,
    )
    messages.error(request, refusal.message)
    return HttpResponseRedirect(reverse("admin:login"))


class SsoStartView(OIDCAuthenticationRequestView):
    """To the provider's sign-in page, with a fresh state, nonce and PKCE challenge."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the provider's settings are read once single sign-on is known on

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except SsoRefused as refusal:
            return sso_refused_response(request, refusal)
        except (requests.RequestException, ValueError) as exc:
            return sso_refused_response(
                request, SsoRefused(f"provider unreachable ({type(exc).__name__})", UNREACHABLE)
            )
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here with a code: exchange, verify, sign in or refuse."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404
        state = request.GET.get("state", "")
        if request.GET.get("error"):
            states = request.session.get("oidc_states", {})
            if states.pop(state, None) is not None:  # forgotten: it cannot be used again
                request.session["oidc_states"] = states
            error = request.GET["error"][:40]
            return sso_refused_response(
                request, SsoRefused(f"the provider answered {error}", PROVIDER_REFUSED)
            )
        if not request.GET.get("code") or state not in request.session.get("oidc_states", {}):
            return sso_refused_response(request, SsoRefused("unknown or replayed state"))
        return super().get(request)

    def login_failure(self) -> HttpResponse:
        refusal = getattr(self.request, "sso_refusal", None) or SsoRefused("sign-in refused")
        return sso_refused_response(self.request, refusal)

    def login_success(self) -> HttpResponse:
        remark = getattr(self.request, "sign_in_detail", "")
        self.request.sign_in_detail = f"single sign-on; {remark}" if remark else "single sign-on"
        response = super().login_success()
        if getattr(self.request, "sso_mfa", False):
            self.request.session[PROVIDER_MFA_SESSION_KEY] = True
        return response
