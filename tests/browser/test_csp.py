"""The strict Content-Security-Policy holds in a real browser: no admin page needs an inline script."""

from __future__ import annotations

import pytest

from registry.models import Individual
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("/admin/", "#dashboard"),
    ("/admin/registry/individual/", "#changelist"),
    ("/admin/registry/individual/add/", "form"),
    ("/admin/registry/location/", "#changelist"),
    ("/admin/registry/location/import/", "form"),
    ("/admin/auth/user/add/", "#user_form"),
]


def test_admin_pages_run_without_csp_violations(page, administrator, tree):
    Individual.objects.create(given_name="Ama", family_name="Mensah", sex="F", location=tree.north_a)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    browser_login(page, "administrator")
    page.wait_for_selector("#dashboard")
    for url, ready in PAGES:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector(ready)
    # The admin's own JS ran: the user form's role picker is built by SelectFilter2.js.
    assert page.locator("#id_groups_from").count() == 1
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, csp
    assert not problems, problems
