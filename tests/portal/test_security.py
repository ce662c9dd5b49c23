"""Sign-in lock-out (django-axes), the Content-Security-Policy header, session expiry, password rules."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from portal.security import client_ip_address
from tests.conftest import PASSWORD

LOGIN = "/admin/login/"


def sign_in(client, username: str, password: str, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_username_from_that_address(client, maker):
    for _ in range(4):
        response = sign_in(client, "maker", "wrong-password")
        assert (
            response.status_code == 200 and "Please enter the correct username" in response.content.decode()
        )
    fifth = sign_in(client, "maker", "wrong-password")
    assert fifth.status_code == 429

    locked = sign_in(client, "maker", PASSWORD)  # the right password no longer helps
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    other_address = sign_in(client.__class__(), "maker", PASSWORD, ip="10.0.0.2")
    assert other_address.status_code == 302 and other_address["Location"] == "/admin/"


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client, maker):
    for number in range(5):
        client.post(
            LOGIN,
            {"username": "maker", "password": "wrong"},
            REMOTE_ADDR="10.0.0.9",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
        )
    response = client.post(
        LOGIN,
        {"username": "maker", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert response.status_code == 429


def test_behind_a_proxy_each_client_is_locked_out_separately(client, maker, settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1  # nginx appends the address it saw; REMOTE_ADDR is nginx itself

    def attempt(forwarded_for: str, password: str):  # type: ignore[no-untyped-def]
        return client.post(
            LOGIN,
            {"username": "maker", "password": password},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    for number in range(5):  # the attacker forges a different first hop each time
        attempt(f"8.8.8.{number}, 198.51.100.7", "wrong")
    assert attempt("9.9.9.9, 198.51.100.7", PASSWORD).status_code == 429
    assert attempt("198.51.100.8", PASSWORD).status_code == 302  # another client behind the same proxy


def test_client_address(rf, settings):
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="8.8.8.8, 10.1.1.1, 198.51.100.7")
    settings.PORTAL_TRUSTED_PROXY_COUNT = 0
    assert client_ip_address(request) == "127.0.0.1"
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    assert client_ip_address(request) == "198.51.100.7"
    settings.PORTAL_TRUSTED_PROXY_COUNT = 2
    assert client_ip_address(request) == "10.1.1.1"
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    assert client_ip_address(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"
    settings.PORTAL_TRUSTED_PROXY_COUNT = 3  # more proxies configured than hops: never a client-written hop
    assert (
        client_ip_address(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="8.8.8.8")) == "127.0.0.1"
    )


@pytest.mark.parametrize(
    "forged", ["not-an-address", "8.8.8.8\nINFO forged log line", "' OR 1=1 --", "x" * 300]
)
def test_a_hop_that_is_not_an_address_falls_back_to_the_proxy(rf, settings, forged):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forged)
    assert client_ip_address(request) == "127.0.0.1"


def test_ipv6_clients_behind_a_proxy(rf, settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="2001:DB8::1")
    assert client_ip_address(request) == "2001:db8::1"


def test_the_trusted_proxy_setting_is_read_from_the_environment(monkeypatch):
    import importlib

    import portal.settings as portal_settings

    try:
        monkeypatch.delenv("AXES_PROXY_COUNT", raising=False)
        monkeypatch.delenv("PORTAL_TRUSTED_PROXY_COUNT", raising=False)
        assert importlib.reload(portal_settings).PORTAL_TRUSTED_PROXY_COUNT == 0  # DJANGO_ENV=test: no proxy
        monkeypatch.setenv("AXES_PROXY_COUNT", "2")  # the older name still works
        assert importlib.reload(portal_settings).PORTAL_TRUSTED_PROXY_COUNT == 2
        monkeypatch.setenv("PORTAL_TRUSTED_PROXY_COUNT", "1")
        assert importlib.reload(portal_settings).PORTAL_TRUSTED_PROXY_COUNT == 1
    finally:
        monkeypatch.undo()
        importlib.reload(portal_settings)


def test_lockout_is_per_username(client, maker, checker):
    for _ in range(5):
        sign_in(client, "maker", "wrong-password")
    assert sign_in(client, "checker", PASSWORD).status_code == 302


def test_success_before_the_limit_resets_the_count(client, maker):
    for _ in range(4):
        sign_in(client, "maker", "wrong-password")
    assert sign_in(client, "maker", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, "maker", "wrong-password").status_code == 200
    assert sign_in(client, "maker", PASSWORD).status_code == 302


def test_lockout_settings():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_ADDRESS_FAILURE_LIMIT == 20
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"], "ip_address"]


def test_password_spraying_from_one_address_is_locked_out(client, maker, checker, settings):
    """One wrong password on each of many user names: no name reaches 5, the address reaches its limit."""
    settings.AXES_ADDRESS_FAILURE_LIMIT = 8
    for number in range(7):
        assert sign_in(client, f"person{number}", "Summer2026!").status_code == 200
    assert sign_in(client, "person7", "Summer2026!").status_code == 429  # the 8th
    # Locked: from this address even a right password is refused, for every account.
    assert sign_in(client, "maker", PASSWORD).status_code == 429
    assert sign_in(client, "checker", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    assert sign_in(client.__class__(), "maker", PASSWORD, ip="10.0.0.2").status_code == 302


def test_spraying_behind_a_proxy_is_counted_per_client(client, maker, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 4
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1

    def attempt(username: str, forwarded_for: str, password: str = "wrong"):  # type: ignore[no-untyped-def]
        return client.post(
            LOGIN,
            {"username": username, "password": password},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    for number in range(4):  # forged first hops change nothing: the proxy's hop is the same client
        attempt(f"person{number}", f"8.8.8.{number}, 198.51.100.7")
    assert attempt("maker", "198.51.100.7", PASSWORD).status_code == 429
    assert attempt("maker", "198.51.100.8", PASSWORD).status_code == 302


def test_a_successful_sign_in_does_not_forgive_the_address_its_spraying(client, maker, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 6
    for number in range(4):
        sign_in(client, f"person{number}", "wrong")
    sign_in(client, "maker", "wrong")
    assert sign_in(client, "maker", PASSWORD).status_code == 302  # forgives maker's own failure only
    client.logout()
    sign_in(client, "person8", "wrong")  # 5 failures on the address
    assert sign_in(client, "person9", "wrong").status_code == 429  # the 6th


def script_src(header: str) -> list[str]:
    directives = {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}
    return directives["script-src"]


@pytest.mark.parametrize(
    "url", ["/admin/login/", "/admin/", "/admin/registry/individual/add/", "/admin/registry/location/import/"]
)
def test_strict_csp_header_on_admin_pages(client, admin_user, url):
    if url != "/admin/login/":
        client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert script_src(header) == ["'self'"]
    assert "'unsafe-inline'" not in script_src(header) and "'unsafe-eval'" not in script_src(header)
    assert "object-src 'none'" in header and "frame-ancestors 'none'" in header
    # No inline script in the page itself: every <script> has a src or is JSON data (json_script).
    scripts = re.findall(r"<script\b([^>]*)>", response.content.decode())
    assert scripts and all(
        "src=" in attributes or 'type="application/json"' in attributes for attributes in scripts
    ), scripts


def test_session_expires_after_a_working_day_and_with_the_browser(client, maker):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert sign_in(client, "maker", PASSWORD).status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert client.session.get_expire_at_browser_close()


@pytest.mark.parametrize("weak", ["short1", "password1234", "12345678901234", "makerexample1"])
def test_weak_passwords_are_refused(weak, maker):
    with pytest.raises(ValidationError):
        validate_password(weak, user=maker)


def test_a_good_password_passes(maker):
    validate_password("Harvest-Lantern-42x", user=maker)
