"""Single sign-on against a small OpenID Connect provider started here (tests/identity/oidc_provider.py):
the round trip, roles and locations from the directory's claims, two-factor, and every refusal logged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse

from access.roles import APPROVER, REGISTRY_OFFICER, user_in_roles
from identity.models import (
    DirectoryIdentity,
    DirectoryRoleMapping,
    RoleGrant,
    RoleGrantSource,
    SignInEvent,
    SignInEventKind,
)
from identity.sso import DirectoryBackend, provider_mfa_asserted
from tests.conftest import PASSWORD, make_user
from tests.identity.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, ProviderServer

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")
START = reverse("sso:start")
CALLBACK = reverse("sso:callback")


@pytest.fixture
def provider(settings) -> Iterator[Provider]:
    with ProviderServer() as running:
        settings.OIDC_ISSUER = running.issuer
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_PROVIDER_NAME = "Ministry directory"
        cache.clear()
        yield running
    cache.clear()


@pytest.fixture
def mappings(tree) -> None:
    DirectoryRoleMapping.objects.create(
        claim_value="sp-approvers", role=Group.objects.get(name=APPROVER), location_codes="N"
    )
    DirectoryRoleMapping.objects.create(
        claim_value="sp-registry", role=Group.objects.get(name=REGISTRY_OFFICER)
    )
    DirectoryRoleMapping.objects.create(claim_value="south-office", location_codes="S")


def amina(provider: Provider, *groups: str, **claims) -> None:
    defaults = {
        "preferred_username": "amina",
        "email": "amina@ministry.example",
        "given_name": "Amina",
        "family_name": "Diallo",
    }
    provider.sign_in_as("sub-amina", **{**defaults, "groups": list(groups), **claims})


def sign_in(client, *, next_url: str = INDEX) -> tuple[object, str]:
    """Start, let the provider approve, come back to the callback: (the callback's response, its URL)."""
    start = client.get(START, {"next": next_url})
    assert start.status_code == 302, start
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == CALLBACK
    callback_url = f"{back.path}?{back.query}"
    return client.get(callback_url), callback_url


def refusal(user_or_name: str) -> SignInEvent:
    return SignInEvent.objects.filter(kind=SignInEventKind.SSO_REFUSED).latest("pk")


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_without_settings_there_is_no_button_and_the_pages_do_not_exist(client, settings):
    settings.OIDC_ISSUER = ""
    assert "sso-sign-in" not in client.get(LOGIN).content.decode()
    assert client.get(START).status_code == 404
    assert client.get(CALLBACK, {"code": "x", "state": "y"}).status_code == 404


def test_the_login_page_offers_the_provider_beside_the_password(client, provider):
    page = client.get(LOGIN, {"next": "/admin/registry/"}).content.decode()
    assert "Sign in with Ministry directory" in page
    assert f'href="{START}?next=%2Fadmin%2Fregistry%2F"' in page
    assert 'id="id_password"' in page


def test_round_trip_creates_the_user_with_the_mapped_role_and_locations(client, provider, mappings, tree):
    amina(provider, "sp-approvers", "unrelated-group")
    response, _url = sign_in(client, next_url="/admin/registry/")
    assert response.status_code == 302 and response["Location"] == "/admin/registry/"
    assert client.get(INDEX).status_code == 200

    user = User.objects.get(username="amina")
    assert (user.email, user.first_name, user.last_name, user.is_staff) == (
        "amina@ministry.example",
        "Amina",
        "Diallo",
        True,
    )
    assert not user.has_usable_password(), "a directory account signs in through the directory only"
    assert DirectoryIdentity.objects.get(user=user).subject == "sub-amina"
    grant = RoleGrant.objects.get(user=user)
    assert (grant.role.name, grant.source) == (APPROVER, RoleGrantSource.DIRECTORY)
    assert list(user.profile.locations.values_list("code", flat=True)) == ["N"]
    event = SignInEvent.objects.get(user=user, kind=SignInEventKind.SIGNED_IN)
    assert event.detail == "single sign-on"


def test_the_next_sign_in_follows_the_directory_roles_given_in_the_portal_stay(
    client, provider, mappings, tree, admin_user, django_assert_max_num_queries
):
    amina(provider, "sp-approvers")
    sign_in(client)
    user = User.objects.get(username="amina")
    Group.objects.get(name="Auditor").user_set.add(user)  # given in the portal by an administrator
    client.logout()

    amina(provider, "sp-registry", "south-office", email="amina.diallo@ministry.example")
    with django_assert_max_num_queries(80):  # 74: sessions, axes, role and scope grants and their history, audit
        response, _url = sign_in(client)
    assert response["Location"] == INDEX
    user = User.objects.get(pk=user.pk)
    assert user.email == "amina.diallo@ministry.example"
    held = dict(RoleGrant.objects.filter(user=user).values_list("role__name", "source"))
    assert held == {REGISTRY_OFFICER: RoleGrantSource.DIRECTORY, "Auditor": RoleGrantSource.PORTAL}
    assert not user_in_roles(user, (APPROVER,))
    assert sorted(user.profile.locations.values_list("code", flat=True)) == ["S"]
    ended = SignInEvent.objects.get(user=user, kind=SignInEventKind.ROLE_GRANT_ENDED)
    assert APPROVER in ended.detail and "directory" in ended.detail
    assert RoleGrant.history.filter(user_id=user.pk, role__name=APPROVER, history_type="-").exists()


def test_a_claim_that_maps_to_no_role_is_refused_and_ends_the_directory_roles(client, provider, mappings):
    amina(provider, "nobody-knows-this", "south-office")
    response, _url = sign_in(client)
    assert response["Location"] == LOGIN
    assert not User.objects.filter(username="amina").exists(), "no account for someone given no role"
    event = refusal("amina")
    assert event.username == "amina" and "nobody-knows-this" in event.detail
    assert messages_of(response) == [
        "Your directory account gives you no role in this portal. Ask your administrator for access."
    ]

    amina(provider, "sp-approvers")
    sign_in(client)
    user = User.objects.get(username="amina")
    client.logout()
    amina(provider)  # the directory took every role away
    response, _url = sign_in(client)
    assert response["Location"] == LOGIN
    assert not RoleGrant.objects.filter(user=user).exists(), "ended at once, though the sign-in is refused"
    assert refusal("amina").user == user
    assert client.get(INDEX)["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    ("knob", "reason"),
    [
        ({"id_token_overrides": {"iss": "https://impostor.example"}}, "ID token from another issuer"),
        ({"id_token_overrides": {"aud": "another-client"}}, "ID token for another audience"),
        ({"id_token_overrides": {"exp": int(time.time()) - 3600}}, "expired ID token"),
        ({"sign_with_other_key": True}, "bad ID token signature"),
        ({"id_token_overrides": {"nonce": "replayed-nonce"}}, "replayed or foreign nonce"),
        ({"id_token_overrides": {"aud": [CLIENT_ID, "other"], "azp": "other"}}, "another client (azp)"),
    ],
)
def test_a_bad_id_token_is_refused_without_saying_why(client, provider, mappings, knob, reason):
    amina(provider, "sp-approvers")
    for name, value in knob.items():
        setattr(provider, name, value)
    response, _url = sign_in(client)
    assert response["Location"] == LOGIN
    assert not User.objects.filter(username="amina").exists()
    assert reason in refusal("").detail
    shown = messages_of(response)
    assert shown and "could not be verified" in shown[0] and reason not in shown[0]
    assert client.get(INDEX)["Location"].startswith(LOGIN)


def test_a_replayed_callback_is_refused(client, provider, mappings):
    amina(provider, "sp-approvers")
    _response, callback_url = sign_in(client)
    client.logout()
    tokens = provider.token_requests
    response = client.get(callback_url)
    assert response["Location"] == LOGIN
    assert refusal("").detail == "unknown or replayed state"
    assert provider.token_requests == tokens, "refused before the code is even sent to the provider"
    assert client.get(CALLBACK, {"code": "forged", "state": "forged"})["Location"] == LOGIN


def test_the_provider_refusing_is_logged_and_the_state_forgotten(client, provider):
    start = client.get(START)
    state = dict(part.split("=", 1) for part in urlsplit(start["Location"]).query.split("&"))["state"]
    response = client.get(CALLBACK, {"error": "access_denied", "state": state})
    assert response["Location"] == LOGIN
    assert refusal("").detail == "the provider answered access_denied"
    assert messages_of(response) == ["The directory did not sign you in."]
    assert state not in client.session.get("oidc_states", {})


def test_an_unreachable_provider_is_a_clear_message(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    cache.clear()
    response = client.get(START)
    assert response["Location"] == LOGIN
    assert "cannot be reached" in messages_of(response)[0]
    assert "unreachable" in refusal("").detail


def test_local_accounts_keep_working_and_are_not_taken_over(client, provider, mappings, tree):
    make_user("amina", roles=(APPROVER,))  # a local (break-glass) account of the same user name
    amina(provider, "sp-approvers")
    response, _url = sign_in(client)
    assert response["Location"] == LOGIN
    assert "not linked" in messages_of(response)[0]
    assert not DirectoryIdentity.objects.exists()

    response = client.post(LOGIN, {"username": "amina", "password": PASSWORD, "next": INDEX})
    assert response.status_code == 302 and response["Location"] == INDEX


def test_a_disabled_account_is_refused(client, provider, mappings):
    amina(provider, "sp-approvers")
    sign_in(client)
    client.logout()
    User.objects.filter(username="amina").update(is_active=False)
    response, _url = sign_in(client)
    assert response["Location"] == LOGIN
    assert refusal("amina").detail == "account disabled in the portal"


class TestTwoFactor:
    @pytest.fixture(autouse=True)
    def enforced(self, settings):
        settings.TWO_FACTOR_ENFORCE = True

    def test_without_the_provider_saying_so_the_portal_asks_its_own_code(self, client, provider, mappings):
        amina(provider, "sp-approvers", amr=["pwd"])
        sign_in(client)
        assert client.get(INDEX)["Location"].startswith(reverse("identity:enrol"))

    def test_provider_mfa_counts_only_when_the_settings_say_so(self, client, provider, mappings, settings):
        amina(provider, "sp-approvers", amr=["pwd", "otp"])
        sign_in(client)
        assert client.get(INDEX)["Location"].startswith(reverse("identity:enrol")), "off by default"
        client.logout()

        settings.OIDC_MFA_SATISFIES_TWO_FACTOR = True
        sign_in(client)
        assert client.get(INDEX).status_code == 200

    def test_what_counts_as_multi_factor(self, settings):
        settings.OIDC_MFA_SATISFIES_TWO_FACTOR = True
        settings.OIDC_MFA_ACR_VALUES = ["urn:ministry:loa:high"]
        assert provider_mfa_asserted({"amr": ["pwd", "mfa"]})
        assert not provider_mfa_asserted({"amr": ["pwd"]})
        assert not provider_mfa_asserted({"amr": "pwd"})
        assert provider_mfa_asserted({"acr": "urn:ministry:loa:high"})
        assert not provider_mfa_asserted({"acr": "urn:ministry:loa:low"})


def test_the_backend_gives_no_permission_of_its_own(tree):
    clerk = make_user("clerk", roles=(APPROVER,))
    backend = DirectoryBackend()
    assert backend.get_all_permissions(clerk) == set()
    assert not backend.has_perm(clerk, "approvals.view_task")
    assert backend.authenticate(None, username="clerk", password=PASSWORD) is None


def test_the_mapping_screen_checks_location_codes(client, admin_user, tree):
    client.force_login(admin_user)
    url = reverse("admin:identity_directoryrolemapping_add")
    approver = Group.objects.get(name=APPROVER)
    response = client.post(
        url, {"claim_value": "sp-approvers", "role": approver.pk, "location_codes": "N, X9"}
    )
    assert response.status_code == 200
    assert "No location has the code: X9." in response.content.decode()
    response = client.post(
        url, {"claim_value": " sp-approvers ", "role": approver.pk, "location_codes": "N,N-A"}
    )
    assert response.status_code == 302
    mapping = DirectoryRoleMapping.objects.get()
    assert (mapping.claim_value, mapping.location_codes) == ("sp-approvers", "N, N-A")
    response = client.post(url, {"claim_value": "nothing", "role": "", "location_codes": ""})
    assert "must give a role, locations or both" in response.content.decode()
