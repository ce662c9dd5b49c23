"""The client address for sign-in lock-out: REMOTE_ADDR, or the address our own proxies saw."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip_address(request: HttpRequest) -> str:
    """Behind N proxies (PORTAL_PROXY_COUNT) the client is the Nth X-Forwarded-For entry from the end.

    Entries further left were written by the client itself and are never believed.
    """
    proxies = settings.PORTAL_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
