"""Abuse controls: the client address (one rule for the sign-in lock-out and the API throttle), the
address-wide sign-in lock-out against password spraying, and the count of wrong API keys per address."""

from __future__ import annotations

import hashlib
import ipaddress
import time

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import caches
from django.db.models import Sum
from django.http import HttpRequest

THROTTLE_CACHE = "throttle"


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind N trusted proxies (PORTAL_TRUSTED_PROXY_COUNT) the
    Nth X-Forwarded-For entry from the end, the one our nearest proxy wrote.

    Entries further left were written by the client itself and are never believed; without a trusted
    proxy the header is ignored. An entry that is not an IP address falls back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PORTAL_TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return _valid_address(hops[-proxies]) or remote
    return remote


class PortalAxesHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit per lock-out rule.

    AXES_LOCKOUT_PARAMETERS lists [username, ip_address] (AXES_FAILURE_LIMIT, a person mistyping) and
    ip_address alone (AXES_ADDRESS_FAILURE_LIMIT, higher: one address trying many user names, password
    spraying). axes compares every rule with one limit, so a rule without the user name is scaled to it.
    A successful sign-in forgives only that user's failures, never the address's others.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        address_limit = max(settings.AXES_ADDRESS_FAILURE_LIMIT, 1)
        rules = get_lockout_parameters(request, credentials)
        failures = 0
        for rule, attempts in zip(rules, self.get_user_attempts(request, credentials), strict=True):
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if "username" not in ([rule] if isinstance(rule, str) else rule):
                count = count * limit // address_limit  # reaches `limit` exactly at `address_limit`
            failures = max(failures, count)
        return failures

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return deleted


def _failure_key(address: str, window: int) -> tuple[str, int]:
    """The cache key of this window's count for the address, and the seconds left in the window."""
    now = time.time()
    bucket = int(now // window)
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"api-key-failures:{bucket}:{digest}", max(int((bucket + 1) * window - now) + 1, 1)


def api_key_retry_after(address: str) -> int:
    """Seconds until the address may try API keys again; 0 when it is not throttled."""
    window = settings.API_KEY_FAILURE_WINDOW_SECONDS
    key, left = _failure_key(address, window)
    failures = caches[THROTTLE_CACHE].get(key, 0)
    return left if failures >= settings.API_KEY_FAILURE_LIMIT else 0


def api_key_failure_record(address: str) -> int:
    """Count a wrong API key from the address in the current window; the count so far."""
    window = settings.API_KEY_FAILURE_WINDOW_SECONDS
    key, left = _failure_key(address, window)
    cache = caches[THROTTLE_CACHE]
    if cache.add(key, 1, timeout=left):
        return 1
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=left)
        return 1
    cache.touch(key, timeout=left)  # the database cache's incr resets the expiry to its default
    return failures
