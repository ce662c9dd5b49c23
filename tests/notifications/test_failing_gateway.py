"""An SMS gateway that fails: the message is retried after its backoff and sent; a permanent failure stays
failed, logged and shown in the admin, and can be sent again from there."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutboxMessage, OutboxStatus
from notifications.services import notification_send, outbox_deliver_due
from tests.notifications.conftest import TOKEN

pytestmark = pytest.mark.django_db


def _send(callbacks_fixture, **overrides) -> OutboxMessage:
    arguments = {
        "channel": "sms",
        "recipient": "+254 700 000 001",
        "template": "test.ticket",
        "language": "en",
        "context": {"number": "G-000042", "status": "resolved"},
    }
    with callbacks_fixture(execute=True):
        message = notification_send(**{**arguments, **overrides})
    message.refresh_from_db()
    return message


def test_a_500_is_retried_after_the_backoff_then_sent(
    gateway, templates, immediate_tasks, settings, django_capture_on_commit_callbacks, caplog
):
    gateway.statuses = [500, 200]
    settings.NOTIFICATIONS_RETRY_SECONDS = 60
    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        message = _send(django_capture_on_commit_callbacks)

    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert "HTTP 500" in message.last_error and "gateway down" in message.last_error
    assert timedelta(seconds=55) < message.next_attempt_at - timezone.now() <= timedelta(seconds=60)
    assert f"Outbox message #{message.pk}" in caplog.text and "attempt 1 failed" in caplog.text

    assert outbox_deliver_due()["sent"] == 0  # not due yet: the gateway is not asked again
    assert len(gateway.received) == 1

    counts = outbox_deliver_due(now=timezone.now() + timedelta(seconds=61))
    message.refresh_from_db()
    assert counts["sent"] == 1
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert message.attempts == 2
    assert [request["json"] for request in gateway.received] == [
        {"to": "+254700000001", "text": "Your ticket G-000042 is resolved."}
    ] * 2
    assert {request["authorization"] for request in gateway.received} == {f"Bearer {TOKEN}"}
    assert TOKEN not in message.last_error


def test_backoff_doubles_until_the_last_attempt_then_the_message_fails(
    gateway, templates, immediate_tasks, settings, django_capture_on_commit_callbacks, caplog
):
    gateway.statuses = [503]
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_SECONDS = 10
    message = _send(django_capture_on_commit_callbacks)
    first_due = message.next_attempt_at
    assert timedelta(seconds=5) < first_due - timezone.now() <= timedelta(seconds=10)

    outbox_deliver_due(now=first_due)
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and message.attempts == 2
    assert message.next_attempt_at - first_due == timedelta(seconds=20)  # doubled

    with caplog.at_level(logging.ERROR, logger="notifications.services"):
        counts = outbox_deliver_due(now=message.next_attempt_at)
    message.refresh_from_db()
    assert counts["failed"] == 1
    assert message.status == OutboxStatus.FAILED and message.attempts == 3 and message.next_attempt_at is None
    assert "HTTP 503" in message.last_error
    assert "failed for good after 3 attempt(s)" in caplog.text
    assert len(gateway.received) == 3


def test_a_refusal_is_permanent_and_shows_in_the_admin(
    gateway, templates, immediate_tasks, admin_client, django_capture_on_commit_callbacks, caplog
):
    gateway.statuses = [400]
    with caplog.at_level(logging.ERROR, logger="notifications.services"):
        message = _send(django_capture_on_commit_callbacks)
    assert message.status == OutboxStatus.FAILED and message.attempts == 1
    assert "HTTP 400" in message.last_error
    assert f"Outbox message #{message.pk}" in caplog.text

    listing = admin_client.get(
        reverse("admin:notifications_outboxmessage_changelist") + "?status__exact=failed"
    )
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "+254700000001" in page and "HTTP 400" in page
    detail = admin_client.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk]))
    assert "gateway down" in detail.content.decode()

    # the gateway is fixed; an administrator sends it again from the list
    gateway.statuses = [200]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:notifications_outboxmessage_changelist"),
            {"action": "send_again", "_selected_action": [message.pk]},
        )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert len(gateway.received) == 2


def test_an_unreachable_gateway_is_retried(
    templates, immediate_tasks, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "notifications.senders.HttpSmsBackend"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/send"  # discard port: connection refused
    message = _send(django_capture_on_commit_callbacks)
    assert message.status == OutboxStatus.PENDING
    assert "could not be reached" in message.last_error


def test_a_message_left_sending_by_a_dead_worker_is_sent_again(gateway, templates, settings):
    message = OutboxMessage.objects.create(
        channel="sms",
        recipient="+254700000002",
        template_key="test.ticket",
        language="en",
        body="Hello",
        status=OutboxStatus.SENDING,
        attempts=1,
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    assert outbox_deliver_due()["sent"] == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 2


def test_the_outbox_list_runs_a_fixed_number_of_queries(
    admin_client, templates, django_assert_max_num_queries
):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(channel="sms", recipient=f"+25470000{i:04d}", template_key="t", language="en", body="x")
        for i in range(30)
    )
    url = reverse("admin:notifications_outboxmessage_changelist")
    admin_client.get(url)  # the session and permissions, cached
    with django_assert_max_num_queries(8):
        response = admin_client.get(url)
    assert response.status_code == 200
