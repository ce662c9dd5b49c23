"""A person signs in through the real login page and lands on the dashboard."""

import pytest

from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_shows_dashboard(page, maker):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    browser_login(page, "maker")
    page.wait_for_selector("#dashboard")
    assert page.title().startswith("Dashboard")
    assert "Social Protection Portal" in page.inner_text("#site-name")
    labels = page.locator(".key-figure-label").all_inner_texts()
    assert "People registered" in labels
    assert not [e for e in errors if "Content Security Policy" in e], errors
