"""Single sign-on in a real browser: the sign-in page's button, the provider's page (a local OpenID
Connect provider, tests/identity/oidc_provider.py), back to the dashboard; a person the directory gives no
role is sent back to the sign-in page with a clear message."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from access.roles import APPROVER
from identity.models import DirectoryRoleMapping, SignInEvent, SignInEventKind
from tests.conftest import roles_present
from tests.identity.oidc_provider import CLIENT_ID, CLIENT_SECRET, ProviderServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(settings, tree):
    with ProviderServer() as running:
        settings.OIDC_ISSUER = running.issuer
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_PROVIDER_NAME = "Ministry directory"
        settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"form": "1"}  # the provider shows its sign-in page
        from django.core.cache import cache

        cache.clear()
        yield running


def test_an_approver_signs_in_through_the_directory(page, provider, settings):
    from playwright.sync_api import expect

    settings.TWO_FACTOR_ENFORCE = True
    settings.OIDC_MFA_SATISFIES_TWO_FACTOR = True  # the directory asserts its own second factor (amr)
    roles_present()
    DirectoryRoleMapping.objects.create(
        claim_value="sp-approvers", role=Group.objects.get(name=APPROVER), location_codes="N"
    )
    provider.sign_in_as(
        "sub-amina",
        preferred_username="amina",
        given_name="Amina",
        groups=["sp-approvers"],
        amr=["pwd", "otp"],
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto("/admin/login/")
    expect(page.locator("#sso-sign-in-link")).to_have_text("Sign in with Ministry directory")
    page.click("#sso-sign-in-link")
    expect(page.locator("#account")).to_have_text("amina")
    page.click("#approve")
    page.wait_for_selector("#dashboard")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    user = User.objects.get(username="amina")
    assert SignInEvent.objects.filter(
        user=user, kind=SignInEventKind.SIGNED_IN, detail="single sign-on"
    ).exists()


def test_a_person_given_no_role_is_told_so(page, provider):
    from playwright.sync_api import expect

    provider.sign_in_as("sub-visitor", preferred_username="visitor", groups=["library-users"])
    page.goto("/admin/login/")
    page.click("#sso-sign-in-link")
    page.click("#approve")
    expect(page.locator(".messagelist .error")).to_contain_text("gives you no role in this portal")
    expect(page.locator("#id_username")).to_be_visible()
    assert not User.objects.filter(username="visitor").exists()
