"""notification_send: written in the caller's transaction, rendered from the template of the language
asked (else the default one), sent after the commit; bad input is refused saying what is wrong."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction

from notifications.models import MessageTemplate, OutboxMessage, OutboxStatus, render
from notifications.services import notification_send, templates_install

pytestmark = pytest.mark.django_db

CONTEXT = {"number": "G-000007", "status": "closed"}


def test_email_in_the_language_asked_leaves_after_the_commit(
    templates, immediate_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = notification_send(
                channel="email", recipient="amina@example.org", template="test.ticket", language="fr-ca",
                context=CONTEXT,
            )  # fmt: skip
            assert mail.outbox == []  # not before the commit
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.language == "fr"
    assert [(m.subject, m.body, m.to) for m in mail.outbox] == [
        ("Dossier G-000007", "Votre dossier G-000007 est closed.", ["amina@example.org"])
    ]


def test_a_language_without_a_template_falls_back_to_the_default(
    templates, immediate_tasks, memory_sms, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = notification_send(
            channel="sms",
            recipient="+351 912 345 678",
            template="test.ticket",
            language="pt",
            context=CONTEXT,
        )
    assert message.language == "en" and message.subject == ""
    assert memory_sms == [{"to": "+351912345678", "text": "Your ticket G-000007 is closed."}]


def test_a_rolled_back_transaction_leaves_no_message_and_sends_nothing(
    templates, immediate_tasks, memory_sms, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notification_send(
                channel="sms",
                recipient="+254700000001",
                template="test.ticket",
                language="en",
                context=CONTEXT,
            )
            raise RuntimeError("the caller's write failed")
    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert memory_sms == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"channel": "sms", "recipient": "call me"}, "'call me' is not a phone number"),
        ({"channel": "email", "recipient": "amina@"}, "'amina@' is not an e-mail address"),
        ({"channel": "fax", "recipient": "+254700000001"}, "Unknown channel 'fax'"),
        ({"template": "no.such"}, "No message template 'no.such' in 'en'"),
        ({"context": {"number": "G-1"}}, "The message needs values for: status."),
    ],
)
def test_bad_input_is_refused_with_what_is_wrong(templates, arguments, message):
    base = {"channel": "sms", "recipient": "+254700000001", "template": "test.ticket", "language": "en"}
    with pytest.raises(ValidationError) as refused:
        notification_send(**{**base, "context": CONTEXT, **arguments})
    assert message in " ".join(refused.value.messages)
    assert not OutboxMessage.objects.exists()


def test_templates_read_only_their_context():
    assert render("{{literal}} {name}", {"name": "Amina"}) == "{literal} Amina"
    template = MessageTemplate(key="k", language="en", body="Hello {user.password}")
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert "body" in refused.value.message_dict
    assert "character 7 is not a placeholder" in refused.value.message_dict["body"][0]


def test_the_admin_refuses_a_template_with_a_stray_brace(admin_client):
    response = admin_client.post(
        "/admin/notifications/messagetemplate/add/",
        {"key": "test.x", "language": "en", "subject": "", "body": "Hello {name"},
    )
    assert response.status_code == 200
    assert "is not a placeholder" in response.content.decode()
    assert not MessageTemplate.objects.filter(key="test.x").exists()


def test_default_templates_never_overwrite_an_administrators_edit(templates):
    templates["en"].body = "Edited {number} {status}"
    templates["en"].save()
    added = templates_install(
        MessageTemplate,
        [
            {"key": "test.ticket", "language": "en", "subject": "S", "body": "Default"},
            {"key": "test.ticket", "language": "es", "subject": "S", "body": "Su caso {number}"},
        ],
    )
    assert added == 1
    assert MessageTemplate.objects.get(key="test.ticket", language="en").body == "Edited {number} {status}"
