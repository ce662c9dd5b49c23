"""Wrong API keys are throttled per client address: 429 with Retry-After after API_KEY_FAILURE_LIMIT, logged
without the key; the address is client_ip_address's (X-Forwarded-For only behind trusted proxies)."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.cache import caches
from django.test import Client

from identity.apikeys import api_key_hash
from payments.models import PaymentPoint, PaymentPointType

URL = "/api/payments/reconciliations"
LIMIT = 3


@pytest.fixture(autouse=True)
def throttle(settings, db):
    settings.API_KEY_FAILURE_LIMIT = LIMIT
    settings.API_KEY_FAILURE_WINDOW_SECONDS = 600
    caches["throttle"].clear()
    return settings


@pytest.fixture
def point(db) -> PaymentPoint:
    return PaymentPoint.objects.create(
        name="Provider", point_type=PaymentPointType.MOBILE_MONEY, api_key_hash=api_key_hash("good-key")
    )


def call(client: Client, key: str | None, address: str = "10.0.0.1", **extra: str):  # type: ignore[no-untyped-def]
    headers = {"REMOTE_ADDR": address, "HTTP_IDEMPOTENCY_KEY": "k1", **extra}
    if key is not None:
        headers["HTTP_X_API_KEY"] = key
    return client.post(URL, data=json.dumps({"lines": []}), content_type="application/json", **headers)


def test_wrong_keys_from_one_address_are_throttled(client: Client, point, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="portal.security.api_key")
    for number in range(LIMIT):
        assert call(client, f"guess-{number}").status_code == 401
    throttled = call(client, "guess-x")
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/json"
    wait = int(throttled["Retry-After"])
    assert 0 < wait <= 601
    assert f"{wait} seconds" in throttled.json()["detail"]
    # While throttled even the right key waits: the address is refused before any key is looked at.
    assert call(client, "good-key").status_code == 429

    records = [r for r in caplog.records if r.name == "portal.security.api_key"]
    assert len(records) == LIMIT
    assert all("10.0.0.1" in r.getMessage() for r in records)
    assert not any("guess" in r.getMessage() for r in records)  # never the key


def test_other_addresses_and_right_keys_are_not_affected(client: Client, point) -> None:
    for number in range(LIMIT):
        call(client, f"guess-{number}")
    assert call(client, "good-key", address="10.0.0.2").status_code == 422  # past auth: the body is checked
    assert call(client, "guess", address="10.0.0.2").status_code == 401


def test_right_keys_and_missing_keys_do_not_count(client: Client, point) -> None:
    for _ in range(LIMIT * 2):
        assert call(client, "good-key").status_code == 422
        assert call(client, None).status_code == 401  # no key at all: a person browsing, not a guess
    assert call(client, "guess").status_code == 401


def test_the_window_ends(client: Client, point, throttle) -> None:
    for number in range(LIMIT):
        call(client, f"guess-{number}")
    assert call(client, "good-key").status_code == 429
    caches["throttle"].clear()  # as when the window's count expires
    assert call(client, "good-key").status_code == 422


def test_a_forged_forwarded_for_header_is_ignored_without_a_trusted_proxy(
    client: Client, point, throttle
) -> None:
    throttle.PORTAL_TRUSTED_PROXY_COUNT = 0
    for number in range(LIMIT):
        call(client, f"guess-{number}", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")
    assert call(client, "good-key", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_behind_a_trusted_proxy_each_client_is_throttled_separately(client: Client, point, throttle) -> None:
    throttle.PORTAL_TRUSTED_PROXY_COUNT = 1

    def via_proxy(key: str, forwarded_for: str):  # type: ignore[no-untyped-def]
        return call(client, key, address="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)

    for number in range(LIMIT):  # the attacker forges a different first hop each time
        via_proxy(f"guess-{number}", f"8.8.8.{number}, 198.51.100.7")
    assert via_proxy("good-key", "9.9.9.9, 198.51.100.7").status_code == 429
    assert via_proxy("good-key", "198.51.100.8").status_code == 422  # another client behind the same proxy


def test_the_count_is_kept_in_the_shared_throttle_cache(settings) -> None:
    backend = settings.CACHES["throttle"]["BACKEND"]
    assert backend in {
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    }
