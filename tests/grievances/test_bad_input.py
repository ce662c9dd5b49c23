"""Bad input: each refusal names its field and stores nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from grievances.models import Attachment, Ticket, TicketEvent
from grievances.services import ticket_create
from registry.models import Individual

pytestmark = pytest.mark.django_db


def _refused(world, field, **values):
    base = {
        "user": world.grace,
        "channel": "walk_in",
        "category": world.payments,
        "description": "Not paid",
        "location": world.tree.north_a,
    }
    with pytest.raises(ValidationError) as refused:
        ticket_create(**{**base, **values})
    assert field in refused.value.message_dict, refused.value
    assert (
        not Ticket.objects.exists() and not TicketEvent.objects.exists() and not Attachment.objects.exists()
    )
    return " ".join(refused.value.message_dict[field])


def test_unknown_category(world):
    assert "Unknown category" in _refused(world, "category", category="no-such-thing")


def test_complainant_and_anonymous_at_once(world):
    _refused(world, "anonymous", anonymous=True, complainant_name="Amina")
    _refused(world, "anonymous", anonymous=True, complainant_individual=world.person)


def test_a_record_outside_the_users_scope(world):
    stranger = Individual.objects.create(
        given_name="Kofi", family_name="Mensah", sex="M", location=world.tree.south
    )
    assert "outside" in _refused(world, "subject", subject=stranger)
    assert "outside" in _refused(world, "location", location=world.tree.south)


def test_oversized_and_wrong_type_attachments(world, settings):
    settings.ATTACHMENTS_MAX_BYTES = 1024
    big = SimpleUploadedFile("scan.pdf", b"%PDF-1.7" + b"0" * 2048)
    assert "at most" in _refused(world, "attachments", attachments=[big])
    page = SimpleUploadedFile("page.html", b"<html><script>alert(1)</script></html>")
    assert "not an accepted attachment" in _refused(world, "attachments", attachments=[page])
    disguised = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 not a jpeg")
    _refused(world, "attachments", attachments=[disguised])


def test_a_good_attachment_is_stored_and_served_only_to_who_sees_the_ticket(world, client):

    ticket = ticket_create(
        user=world.grace,
        channel="walk_in",
        category=world.payments,
        description="See the receipt",
        location=world.tree.north_a,
        attachments=[SimpleUploadedFile("receipt.png", b"\x89PNG\r\n\x1a\n" + b"1" * 32)],
    )
    attachment = ticket.attachments.get()
    url = f"/admin/grievances/ticket/{ticket.pk}/attachments/{attachment.pk}/"
    client.force_login(User.objects.get(username="grace"))
    response = client.get(url)
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    client.force_login(User.objects.get(username="southg"))
    assert client.get(url).status_code == 404


def test_the_admin_add_page_keeps_the_input_and_shows_the_refusal_on_its_field(world, client):
    client.force_login(User.objects.get(pk=world.grace.pk))
    stranger = Individual.objects.create(
        given_name="Kofi", family_name="Mensah", sex="M", location=world.tree.south
    )
    response = client.post(
        "/admin/grievances/ticket/add/",
        {
            "channel": "walk_in",
            "category": world.payments.pk,
            "description": "The agent asked for a fee",
            "anonymous": "on",
            "complainant_name": "Amina",
            "location": world.tree.north_a.pk,
            "priority": "",
        },
    )
    assert response.status_code == 200  # the form again, not a redirect
    form = response.context["adminform"].form
    assert form.is_bound and "anonymous" in form.errors
    page = response.content.decode()
    assert "The agent asked for a fee" in page and 'value="Amina"' in page
    response = client.post(
        "/admin/grievances/ticket/add/",
        {
            "channel": "walk_in",
            "category": world.payments.pk,
            "description": "About someone elsewhere",
            "individual": stranger.pk,
            "location": world.tree.north_a.pk,
        },
    )
    form = response.context["adminform"].form
    assert "outside" in " ".join(form.errors["individual"])
    assert not Ticket.objects.exists()
