"""The public complaint page: a person files without signing in and gets a number and tracking code; bad
input is answered on its field; robots are refused (honeypot, too fast, forged or replayed form), and so is
an address sending too many; CSRF stays on."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from grievances.forms_public import TOKEN_SALT, form_token_issue
from grievances.models import Channel, Ticket

pytestmark = pytest.mark.django_db
URL = "/grievances/file/"


def token(age: int = 30) -> str:
    """A form token issued `age` seconds ago."""
    return signing.dumps({"n": f"nonce-{time.monotonic_ns()}", "t": int(time.time()) - age}, salt=TOKEN_SALT)


def complaint(**overrides: str) -> dict[str, str]:
    return {
        "form_token": token(),
        "website": "",
        "category": "late-payment",
        "description": "My May payment never came.",
        "location": "N-A",
        "name": "Amina Otieno",
        "phone": "+254 700 000 001",
        "email": "amina@example.org",
        **overrides,
    }


def test_the_route_is_the_public_file_page():
    assert reverse("grievances_public:file") == URL


def test_the_page_needs_no_sign_in_and_has_no_inline_script(client, world):
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="form_token"' in html and 'name="website"' in html
    assert "Late payment" in html and "North A" in html
    assert "<script" not in html
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_a_complaint_is_filed_with_its_number_and_tracking_code_in_the_persons_language(client, world):
    response = client.post(URL, complaint(), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 201, response.content.decode()
    ticket = Ticket.objects.get()
    html = response.content.decode()
    assert ticket.number in html and ticket.tracking_code in html
    assert (ticket.channel, ticket.category, ticket.location) == (
        Channel.WEB,
        world.late_payment,
        world.tree.north_a,
    )
    assert (ticket.complainant_name, ticket.complainant_phone, ticket.complainant_email) == (
        "Amina Otieno",
        "+254 700 000 001",
        "amina@example.org",
    )
    assert ticket.language == "fr" and ticket.created_by is None
    assert ticket.team == world.north_team  # routed like any other ticket
    assert 'lang="fr"' in html


def test_an_anonymous_complaint_names_nobody(client, world):
    response = client.post(URL, complaint(category="gbv", anonymous="on", name="", phone="", email=""))
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.anonymous and ticket.sensitive and not ticket.complainant_name


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"category": "no-such"}, "category", "Select a valid choice"),
        ({"description": ""}, "description", "This field is required"),
        ({"anonymous": "on"}, "anonymous", "An anonymous complaint names no complainant"),
        ({"phone": "call me maybe"}, "phone", "is not a phone number"),
        ({"email": "amina@"}, "email", "Enter a valid email address"),
        ({"location": "ZZ"}, "location", "Select a valid choice"),
    ],
)
def test_bad_input_is_answered_on_its_field_and_nothing_is_stored(client, world, overrides, field, message):
    response = client.post(URL, complaint(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Ticket.objects.exists()


def test_after_a_refusal_by_the_rules_the_same_form_can_be_corrected_and_sent(client, world):
    data = complaint(anonymous="on")
    assert client.post(URL, data).status_code == 400  # name and anonymous at once: refused by ticket_create
    data.pop("anonymous")
    assert client.post(URL, data).status_code == 201
    assert Ticket.objects.count() == 1


def test_a_replayed_form_is_refused(client, world):
    data = complaint()
    assert client.post(URL, data).status_code == 201
    again = client.post(URL, data)
    assert again.status_code == 409
    assert "This form was already sent" in again.content.decode()
    assert Ticket.objects.count() == 1


def test_a_filled_honeypot_is_refused(client, world):
    response = client.post(URL, complaint(website="http://spam.example"))
    assert response.status_code == 400
    assert "a field meant to stay empty was filled in" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_form_sent_too_fast_is_refused(client, world, settings):
    settings.GRIEVANCE_PUBLIC_MIN_FILL_SECONDS = 5
    response = client.post(URL, complaint(form_token=token(age=1)))
    assert response.status_code == 400
    assert "sent too quickly" in response.content.decode()
    assert client.post(URL, complaint(form_token=token(age=6))).status_code == 201


@pytest.mark.parametrize(
    ("form_token", "message"),
    [
        ("", "not issued by this site"),
        ("forged:token", "not issued by this site"),
        (signing.dumps({"n": "x", "t": 0}, salt="another.salt"), "not issued by this site"),
    ],
)
def test_a_forged_token_is_refused(client, world, form_token, message):
    response = client.post(URL, complaint(form_token=form_token))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Ticket.objects.exists()


def test_an_old_form_is_refused(client, world, settings):
    settings.GRIEVANCE_PUBLIC_FORM_MAX_AGE_SECONDS = 60
    response = client.post(URL, complaint(form_token=token(age=120)))
    assert response.status_code == 400
    assert "opened too long ago" in response.content.decode()


def test_an_address_sending_too_many_is_refused_until_the_window_ends(client, world, settings):
    settings.GRIEVANCE_PUBLIC_RATE_LIMIT = 2
    assert client.post(URL, complaint()).status_code == 201
    assert client.post(URL, complaint(website="robot")).status_code == 400  # refusals count too
    third = client.post(URL, complaint())
    assert third.status_code == 429
    assert int(third["Retry-After"]) > 0
    assert "Too many requests from your address" in third.content.decode()
    assert Ticket.objects.count() == 1
    other = client.post(URL, complaint(), REMOTE_ADDR="10.0.0.9")  # another address is not held back
    assert other.status_code == 201


def test_csrf_is_enforced(world):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(URL, complaint())
    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_a_token_from_the_page_works_once_the_minimum_time_passed(client, world, settings, monkeypatch):
    settings.GRIEVANCE_PUBLIC_MIN_FILL_SECONDS = 3
    issued = form_token_issue()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 4)
    assert client.post(URL, complaint(form_token=issued)).status_code == 201
