"""Two-factor sign-in: who must use it, enrolment, the code after the password, recovery codes, reset, audit."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.roles import APPROVER, REGISTRY_OFFICER
from identity.models import RoleSecurity, SignInEvent, SignInEventKind
from identity.policy import user_requires_two_factor
from identity.services import two_factor_reset
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ENROL = reverse("identity:enrol")
VERIFY = reverse("identity:verify")
INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def enforced(settings):
    settings.TWO_FACTOR_ENFORCE = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # throttling has its own test
    from django.core.cache import cache

    cache.clear()


def code(device: TOTPDevice, *, ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + ahead)
    return f"{totp.token():0{device.digits}d}"


def events(user, kind) -> int:
    return SignInEvent.objects.filter(user=user, kind=kind).count()


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    client.force_login(user)
    client.post(ENROL, {"action": "start", "next": INDEX})
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(ENROL, {"token": code(device), "next": INDEX})
    assert response.status_code == 200, response.content
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{7})</code></li>", response.content.decode())
    device.refresh_from_db()
    return device, codes


def test_approvers_payment_officers_and_superusers_must_use_two_factor_by_default(tree):
    assert user_requires_two_factor(make_user("ann", roles=(APPROVER,)))
    assert user_requires_two_factor(make_user("root", superuser=True))
    assert not user_requires_two_factor(make_user("clerk", roles=(REGISTRY_OFFICER,)))


def test_a_rule_set_by_an_administrator_wins_over_the_default(tree):
    approver = make_user("ann", roles=(APPROVER,))
    clerk = make_user("clerk", roles=(REGISTRY_OFFICER,))
    from django.contrib.auth.models import Group

    RoleSecurity.objects.create(role=Group.objects.get(name=APPROVER), two_factor_required=False)
    RoleSecurity.objects.create(role=Group.objects.get(name=REGISTRY_OFFICER), two_factor_required=True)
    assert not user_requires_two_factor(approver)
    assert user_requires_two_factor(clerk)


def test_who_must_use_it_is_led_to_enrol_before_anything_else(client, checker):
    client.force_login(checker)
    response = client.get(reverse("admin:registry_individual_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(ENROL + "?next=")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'id="two-factor-required"' in page.content
    assert not TOTPDevice.objects.filter(user=checker).exists(), "a GET writes nothing"


def test_others_are_not_asked(client, maker):
    client.force_login(maker)
    assert client.get(INDEX).status_code == 200


def test_enrolment_with_a_qr_code_then_recovery_codes_shown_once(client, checker):
    client.force_login(checker)
    client.post(ENROL, {"action": "start", "next": INDEX})
    device = TOTPDevice.objects.get(user=checker, confirmed=False)
    page = client.get(ENROL).content.decode()
    assert "<svg" in page and 'id="two-factor-secret"' in page
    wrong = client.post(ENROL, {"token": "000000" if code(device) != "000000" else "111111"})
    assert "This code is not valid" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=checker, confirmed=True).exists()
    assert events(checker, SignInEventKind.TWO_FACTOR_FAILED) == 1

    response = client.post(ENROL, {"token": code(device), "next": INDEX})
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{7})</code></li>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=checker).confirmed
    assert events(checker, SignInEventKind.TWO_FACTOR_ENROLLED) == 1
    assert client.get(INDEX).status_code == 200, "the session is verified by the enrolment"
    # Shown once: no page shows them again.
    assert codes[0] not in client.get(ENROL).content.decode()
    assert codes[0] not in client.get(VERIFY, follow=True).content.decode()


def test_the_password_then_a_code(client, checker):
    device, _ = enrol(client, checker)
    other = client.__class__()
    response = other.post(
        reverse("admin:login"), {"username": "checker", "password": PASSWORD, "next": INDEX}
    )
    assert response.status_code == 302
    response = other.get(INDEX)
    assert response["Location"].startswith(VERIFY)
    refused = other.post(VERIFY, {"token": "12345", "next": INDEX})
    assert refused.status_code == 200 and "not valid" in refused.content.decode()
    assert other.get(INDEX).status_code == 302
    accepted = other.post(VERIFY, {"token": code(device, ahead=1), "next": INDEX})
    assert accepted.status_code == 302 and accepted["Location"] == INDEX
    assert other.get(INDEX).status_code == 200
    signed_in = SignInEvent.objects.filter(
        user=checker, kind=SignInEventKind.SIGNED_IN, ip_address="127.0.0.1"
    )
    assert signed_in.count() == 1, "the password sign-in, from its address (force_login has none)"
    assert events(checker, SignInEventKind.TWO_FACTOR_VERIFIED) == 1
    assert events(checker, SignInEventKind.TWO_FACTOR_FAILED) == 1


def test_a_code_already_used_is_refused(client, checker):
    device, _ = enrol(client, checker)
    token = code(device, ahead=1)
    first = client.__class__()
    first.force_login(checker)
    assert first.post(VERIFY, {"token": token, "next": INDEX}).status_code == 302
    second = client.__class__()
    second.force_login(checker)
    replay = second.post(VERIFY, {"token": token, "next": INDEX})
    assert replay.status_code == 200 and "already been used" in replay.content.decode()
    assert second.get(INDEX).status_code == 302


def test_repeated_wrong_codes_slow_the_next_try_down(client, checker, settings):
    device, _ = enrol(client, checker)
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    other = client.__class__()
    other.force_login(checker)
    other.post(VERIFY, {"token": "000000" if code(device, ahead=1) != "000000" else "111111"})
    refused = other.post(VERIFY, {"token": code(device, ahead=1), "next": INDEX})
    assert refused.status_code == 200, "the right code is refused while the device waits after a failure"
    assert other.get(INDEX).status_code == 302


def test_a_recovery_code_signs_in_once(client, checker):
    _, codes = enrol(client, checker)
    first = client.__class__()
    first.force_login(checker)
    assert first.post(VERIFY, {"token": codes[3].upper(), "next": INDEX}).status_code == 302
    assert first.get(INDEX).status_code == 200
    assert StaticToken.objects.filter(device__user=checker).count() == 9
    second = client.__class__()
    second.force_login(checker)
    again = second.post(VERIFY, {"token": codes[3], "next": INDEX})
    assert again.status_code == 200 and "not valid" in again.content.decode()
    assert events(checker, SignInEventKind.RECOVERY_CODE_USED) == 1


def test_a_password_alone_cannot_replace_the_authenticator(client, checker):
    enrol(client, checker)
    thief = client.__class__()
    thief.force_login(checker)
    response = thief.post(ENROL, {"action": "start"})
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=checker).count() == 1


def test_the_next_address_stays_on_the_portal(client, checker):
    device, _ = enrol(client, checker)
    other = client.__class__()
    other.force_login(checker)
    response = other.post(VERIFY, {"token": code(device, ahead=1), "next": "https://evil.example/"})
    assert response["Location"] == INDEX


def test_an_administrator_resets_two_factor_on_the_audit_trail(client, checker, administrator, maker):
    enrol(client, checker)
    with pytest.raises(PermissionDenied):
        two_factor_reset(user=checker, actor=maker)
    with pytest.raises(PermissionDenied):
        two_factor_reset(user=administrator, actor=administrator)
    assert two_factor_reset(user=checker, actor=administrator) > 0
    assert not TOTPDevice.objects.filter(user=checker).exists()
    assert not StaticToken.objects.filter(device__user=checker).exists()
    event = SignInEvent.objects.get(user=checker, kind=SignInEventKind.TWO_FACTOR_RESET)
    assert event.actor == administrator
    # The session verified with the removed device must enrol again.
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(ENROL)


def test_the_reset_action_asks_then_resets(client, checker, settings):
    settings.TWO_FACTOR_ENFORCE = False  # the administrator's own second factor is not what is tested here
    device = TOTPDevice.objects.create(user=checker, name="authenticator", confirmed=True)
    root = make_user("root", superuser=True)
    client.force_login(root)
    url = reverse("admin:auth_user_changelist")
    data = {"action": "two_factor_reset_selected", "_selected_action": [checker.pk, root.pk]}
    confirm = client.post(url, data)
    assert confirm.status_code == 200 and b'id="reset-users"' in confirm.content
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    done = client.post(url, {**data, "post": "yes"})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert SignInEvent.objects.filter(
        user=checker, kind=SignInEventKind.TWO_FACTOR_RESET, actor=root
    ).exists()
    assert not SignInEvent.objects.filter(user=root, kind=SignInEventKind.TWO_FACTOR_RESET).exists()


def test_the_reset_action_is_refused_to_others(client, checker, maker, settings):
    settings.TWO_FACTOR_ENFORCE = False
    from django.contrib.auth.models import Permission

    maker.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    TOTPDevice.objects.create(user=checker, name="authenticator", confirmed=True)
    client.force_login(maker)
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "two_factor_reset_selected", "_selected_action": [checker.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=checker).exists()


def test_sign_ins_failures_and_sign_outs_are_on_the_audit_trail(client, maker):
    client.post(reverse("admin:login"), {"username": "maker", "password": "wrong-password", "next": INDEX})
    failed = SignInEvent.objects.get(kind=SignInEventKind.SIGN_IN_FAILED)
    assert failed.username == "maker" and failed.user is None and failed.ip_address == "127.0.0.1"
    client.post(reverse("admin:login"), {"username": "maker", "password": PASSWORD, "next": INDEX})
    client.post(reverse("admin:logout"))
    assert events(maker, SignInEventKind.SIGNED_IN) == 1
    assert events(maker, SignInEventKind.SIGNED_OUT) == 1


def test_the_audit_trail_is_read_only_and_searchable_per_user(client, maker, settings):
    settings.TWO_FACTOR_ENFORCE = False
    client.post(reverse("admin:login"), {"username": "maker", "password": "wrong-password"})
    root = make_user("root", superuser=True)
    client.force_login(root)
    url = reverse("admin:identity_signinevent_changelist")
    assert b"maker" in client.get(url, {"q": "maker"}).content
    assert b"maker" not in client.get(url, {"q": "nobody"}).content.split(b'id="result_list"')[-1]
    event = SignInEvent.objects.first()
    assert client.post(reverse("admin:identity_signinevent_change", args=[event.pk]), {}).status_code == 403


def test_nothing_is_asked_when_not_enforced(client, checker, settings):
    settings.TWO_FACTOR_ENFORCE = False
    client.force_login(checker)
    assert client.get(INDEX).status_code == 200
