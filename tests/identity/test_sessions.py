"""Sessions: an idle one ends (sooner for privileged roles); a user sees where they are signed in and ends the others."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from identity.middleware import ACTIVE_COOKIE, idle_seconds
from identity.models import UserSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
LOGIN = reverse("admin:login")


@pytest.fixture(autouse=True)
def idle_enforced(settings):
    settings.SESSION_IDLE_ENFORCE = True
    cache.clear()


def signed_in(username: str) -> Client:
    client = Client(HTTP_USER_AGENT="Firefox test")
    response = client.post(LOGIN, {"username": username, "password": PASSWORD, "next": INDEX})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_privileged_roles_have_the_shorter_idle_limit(settings, maker, checker):
    settings.SESSION_IDLE_MINUTES, settings.SESSION_IDLE_MINUTES_PRIVILEGED = 120, 30
    assert idle_seconds(checker) == 30 * 60
    assert idle_seconds(maker) == 120 * 60


def test_activity_keeps_the_session_and_idleness_ends_it(settings, maker):
    client = signed_in("maker")
    assert client.get(INDEX).status_code == 200
    assert ACTIVE_COOKIE in client.cookies
    settings.SESSION_IDLE_MINUTES = 1 / 60  # one second
    time.sleep(1.5)
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert client.get(INDEX)["Location"].startswith(LOGIN), "signed out for good"
    assert not Session.objects.exists()


def test_a_session_without_the_activity_cookie_is_ended(maker):
    client = signed_in("maker")
    client.cookies.pop(ACTIVE_COOKIE)
    assert client.get(INDEX)["Location"].startswith(LOGIN)


def test_the_activity_cookie_of_another_session_does_not_count(maker):
    first, second = signed_in("maker"), signed_in("maker")
    first.get(INDEX)
    second.cookies[ACTIVE_COOKIE] = first.cookies[ACTIVE_COOKIE].value
    second.get(INDEX)  # renews its own
    forged = signed_in("maker")
    forged.cookies[ACTIVE_COOKIE] = first.cookies[ACTIVE_COOKIE].value
    assert forged.get(INDEX)["Location"].startswith(LOGIN)


def test_a_user_sees_their_sessions_and_ends_the_others(settings, maker):
    settings.SESSION_IDLE_ENFORCE = False
    phone, laptop, kiosk = signed_in("maker"), signed_in("maker"), signed_in("maker")
    assert UserSession.objects.filter(user=maker).count() == 3
    page = laptop.get(reverse("identity:sessions")).content.decode()
    assert page.count('name="session"') == 2 and "this one" in page
    phone_session = UserSession.objects.get(session_key=phone.session.session_key)
    laptop.post(reverse("identity:sessions"), {"action": "chosen", "session": [phone_session.pk]})
    assert phone.get(INDEX)["Location"].startswith(LOGIN)
    assert kiosk.get(INDEX).status_code == 200
    laptop.post(reverse("identity:sessions"), {"action": "all"})
    assert kiosk.get(INDEX)["Location"].startswith(LOGIN)
    assert laptop.get(INDEX).status_code == 200
    assert list(UserSession.objects.filter(user=maker).values_list("session_key", flat=True)) == [
        laptop.session.session_key
    ]


def test_no_one_ends_another_users_sessions(settings, maker, checker):
    settings.SESSION_IDLE_ENFORCE = False
    settings.TWO_FACTOR_ENFORCE = False
    victim = signed_in("checker")
    attacker = signed_in("maker")
    theirs = UserSession.objects.get(session_key=victim.session.session_key)
    attacker.post(reverse("identity:sessions"), {"action": "chosen", "session": [theirs.pk]})
    assert victim.get(INDEX).status_code == 200


def test_signing_out_forgets_the_session(settings, maker):
    settings.SESSION_IDLE_ENFORCE = False
    client = signed_in("maker")
    client.post(reverse("admin:logout"))
    assert not UserSession.objects.filter(user=maker).exists()
