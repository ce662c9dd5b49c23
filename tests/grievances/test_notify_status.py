"""Status changes reach the complainant (SMS and e-mail, in the language they filed in) and the assignee
(e-mail, in their profile's language), through the notifications outbox; nothing for the anonymous."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.utils import translation

from grievances.models import Channel, TicketStatus
from grievances.services import ticket_assign, ticket_create, ticket_resolve, ticket_start
from notifications.models import OutboxMessage, OutboxStatus
from notifications.senders import MemorySmsBackend
from portal.models import UserProfile

pytestmark = pytest.mark.django_db


def label(status: str, language: str) -> str:
    """The status as the recipient reads it (its translation, when the catalogue has one)."""
    with translation.override(language):
        return str(TicketStatus(status).label)


IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
}


@pytest.fixture
def sending(settings):
    settings.TASKS = IMMEDIATE
    settings.SMS_BACKEND = "notifications.senders.MemorySmsBackend"
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    MemorySmsBackend.outbox = []
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox = []


def _file(**extra):
    values = {
        "user": None,
        "channel": Channel.WEB,
        "category": "late-payment",
        "description": "My May payment never came.",
        "complainant_name": "Amina Otieno",
        "complainant_phone": "+254 700 000 001",
        "complainant_email": "amina@example.org",
        "language": "fr",
    }
    return ticket_create(**{**values, **extra})


def test_the_complainant_hears_of_each_step_in_their_language(
    world, sending, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _file(location=world.tree.north_a)
    assert sending == [
        {
            "to": "+254700000001",
            "text": f"Votre plainte {ticket.number} est maintenant : {label('received', 'fr')}. "
            "Suivez-la sur https://portal.example.org/grievances/status/ avec votre code de suivi.",
        }
    ]
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["amina@example.org"], f"Votre plainte {ticket.number} : {label('received', 'fr')}")
    ]
    assert ticket.tracking_code not in sending[0]["text"]  # the code never travels in a message


def test_the_assignee_is_told_unless_they_took_the_step_themselves(
    world, sending, django_capture_on_commit_callbacks
):
    UserProfile.objects.filter(user=world.grace).update(preferred_language="pt")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _file(location=world.tree.north_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_assign(ticket=ticket, user=world.gina, assignee=world.grace)
    to_grace = [m for m in mail.outbox if m.to == [world.grace.email]]
    assert [m.subject for m in to_grace] == [f"Processo {ticket.number}: {label('assigned', 'pt')}"]
    assert "https://portal.example.org/admin/" in to_grace[0].body  # the ticket's page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_start(ticket=ticket, user=world.grace)  # grace's own step: no e-mail to her
    assert [m.to for m in mail.outbox] == [["amina@example.org"]]
    assert sending[-1]["text"].startswith(
        f"Votre plainte {ticket.number} est maintenant : {label('in_progress', 'fr')}"
    )


def test_an_anonymous_complainant_gets_nothing(world, sending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _file(category="gbv", anonymous=True, complainant_name="", complainant_phone="", complainant_email="")
    assert sending == [] and mail.outbox == []
    assert not OutboxMessage.objects.exists()


def test_every_message_is_kept_in_the_outbox(world, sending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _file(complainant_email="", location=world.tree.north_a)
        ticket = ticket_assign(ticket=ticket, user=world.gina, assignee=world.grace)
        ticket = ticket_start(ticket=ticket, user=world.grace)
        ticket_resolve(ticket=ticket, user=world.grace, resolution="Paid on 3 June.")
    rows = list(OutboxMessage.objects.order_by("pk").values_list("channel", "template_key", "status"))
    assert rows.count(("sms", "grievance.status_changed.complainant", OutboxStatus.SENT)) == 4
    assert ("email", "grievance.status_changed.assignee", OutboxStatus.SENT) in rows


def test_a_missing_template_is_logged_and_the_step_stands(
    world, sending, django_capture_on_commit_callbacks, caplog
):
    from notifications.models import MessageTemplate

    MessageTemplate.objects.filter(key="grievance.status_changed.complainant").delete()
    with caplog.at_level(logging.ERROR, logger="grievances.notify"):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = _file(location=world.tree.north_a)
    assert ticket.pk is not None
    assert "could not be queued" in caplog.text and "No message template" in caplog.text
