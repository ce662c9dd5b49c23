"""Two-factor sign-in in a real browser: an approver is led to enrol, scans (types) the key, keeps the
recovery codes, and signs in again with the password and a code."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import TOTP

from identity.models import SignInEvent, SignInEventKind
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code(secret: str, *, ahead: int = 0) -> str:
    return f"{TOTP(base64.b32decode(secret), 30, 0, 6, ahead).token():06d}"


def test_an_approver_enrols_then_signs_in_with_a_code(page, checker, settings):
    from playwright.sync_api import expect

    settings.TWO_FACTOR_ENFORCE = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    browser_login(page, "checker")
    expect(page.locator("#two-factor-required")).to_be_visible()
    page.click("#two-factor-start input[type=submit]")
    expect(page.locator("#two-factor-qr svg")).to_be_visible()
    secret = page.inner_text("#two-factor-secret").strip()
    page.fill("#id_token", "000000" if code(secret) != "000000" else "111111")
    page.click("#two-factor-confirm input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("not valid")
    page.fill("#id_token", code(secret))
    page.click("#two-factor-confirm input[type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.click("#two-factor-continue")
    page.wait_for_selector("#dashboard")

    page.context.clear_cookies()
    browser_login(page, "checker")
    expect(page.locator("#two-factor-verify")).to_be_visible()
    page.fill("#id_token", code(secret, ahead=1))
    page.click("#two-factor-verify input[type=submit]")
    page.wait_for_selector("#dashboard")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    kinds = set(SignInEvent.objects.filter(user=checker).values_list("kind", flat=True))
    assert {SignInEventKind.TWO_FACTOR_ENROLLED, SignInEventKind.TWO_FACTOR_VERIFIED} <= kinds
