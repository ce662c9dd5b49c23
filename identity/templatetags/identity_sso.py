"""The "Sign in with <provider>" link of the sign-in page, shown only when single sign-on is configured."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from identity.sso import sso_enabled, sso_provider_name

register = template.Library()


@register.inclusion_tag("identity/sso_sign_in.html", takes_context=True)
def sso_sign_in(context: dict[str, Any]) -> dict[str, Any]:
    if not sso_enabled():
        return {"enabled": False}
    request = context.get("request")
    url = reverse("sso:start")
    wanted = request.GET.get("next", "") if request is not None else ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    ):
        url = f"{url}?{urlencode({'next': wanted})}"
    return {"enabled": True, "url": url, "provider": sso_provider_name()}
