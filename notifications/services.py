"""Every write to the outbox and the templates: queue a message, deliver it, retry it.

A message is written in the caller's transaction and handed to the background task once that
transaction commits; a rollback leaves no message behind and sends nothing. Delivery claims the row
(pending → sending) so two workers never send it twice; a failure is recorded on the row, logged, and
tried again after a backoff, until NOTIFICATIONS_MAX_ATTEMPTS; then the message stays failed, visible in
the admin (Notifications → Outbox) where it can be sent again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Channel, MessageTemplate, OutboxMessage, OutboxStatus, render
from notifications.senders import SendError, message_deliver

logger = logging.getLogger(__name__)

PHONE = re.compile(r"^\+?[0-9]{6,15}$")
PHONE_SEPARATORS = re.compile(r"[\s().-]")


def recipient_clean(channel: str, recipient: str) -> str:
    """The recipient written as the channel expects it; ValidationError saying what is wrong."""
    recipient = (recipient or "").strip()
    if channel == Channel.EMAIL:
        try:
            validate_email(recipient)
        except ValidationError:
            raise ValidationError(
                _("%(value)r is not an e-mail address."), code="recipient", params={"value": recipient}
            ) from None
        return recipient
    if channel == Channel.SMS:
        number = PHONE_SEPARATORS.sub("", recipient)
        if not PHONE.match(number):
            raise ValidationError(
                _("%(value)r is not a phone number: 6 to 15 digits, optionally after a +."),
                code="recipient",
                params={"value": recipient},
            )
        return number
    raise ValidationError(
        _("Unknown channel %(channel)r: use %(channels)s."),
        code="channel",
        params={"channel": channel, "channels": ", ".join(Channel.values)},
    )


def template_find(key: str, language: str) -> MessageTemplate:
    """The template in that language, else in the portal's default language."""
    wanted = [(language or "").split("-")[0].lower(), settings.LANGUAGE_CODE]
    found = {t.language: t for t in MessageTemplate.objects.filter(key=key, language__in=wanted)}
    for code in wanted:
        if code in found:
            return found[code]
    raise ValidationError(
        _("No message template %(key)r in %(language)r or %(default)r: add it under Notifications."),
        code="template",
        params={"key": key, "language": language, "default": settings.LANGUAGE_CODE},
    )


def notification_send(
    *, channel: str, recipient: str, template: str, language: str, context: dict[str, Any]
) -> OutboxMessage:
    """Queue one message: rendered now from the template, written in the caller's transaction, sent by
    the background task after it commits."""
    recipient = recipient_clean(channel, recipient)
    found = template_find(template, language)
    message = OutboxMessage.objects.create(
        channel=channel,
        recipient=recipient,
        template_key=template,
        language=found.language,
        subject=render(found.subject, context)[:200] if channel == Channel.EMAIL else "",
        body=render(found.body, context),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id: int, run_after: datetime | None = None) -> None:
    """Hand the message to the task queue; when that fails (or cannot defer), `outbox_deliver_due` will."""
    from notifications.tasks import outbox_deliver_task

    task = outbox_deliver_task
    try:
        if run_after is not None:
            if not task.get_backend().supports_defer:
                return
            task = task.using(run_after=run_after)
        task.enqueue(message_id)
    except Exception:  # the row is saved: the next `notifications_deliver` sends it
        logger.exception("Could not queue outbox message #%s; notifications_deliver will send it", message_id)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: NOTIFICATIONS_RETRY_SECONDS doubled each time, capped."""
    seconds = settings.NOTIFICATIONS_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.NOTIFICATIONS_RETRY_MAX_SECONDS))


def outbox_deliver(message_id: int, *, now: datetime | None = None) -> OutboxMessage | None:
    """Send one due message; None when it is not due or another worker has it."""
    now = now or timezone.now()
    claimed = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now
    ).update(status=OutboxStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        message_deliver(
            channel=message.channel, recipient=message.recipient, subject=message.subject, body=message.body
        )
    except Exception as exc:  # any failure is kept on the row; none is lost
        return _delivery_failed(message, exc, now=now)
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxStatus.SENT, sent_at=timezone.now(), claimed_at=None, next_attempt_at=None
    )
    message.refresh_from_db()
    return message


def _delivery_failed(message: OutboxMessage, exc: Exception, *, now: datetime) -> OutboxMessage:
    error = str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
    permanent = isinstance(exc, SendError) and exc.permanent
    if permanent or message.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.FAILED, last_error=error[:2000], claimed_at=None, next_attempt_at=None
        )
        logger.error(
            "Outbox message #%s (%s, %s) failed for good after %d attempt(s): %s",
            message.pk,
            message.channel,
            message.template_key,
            message.attempts,
            error,
        )
    else:
        next_attempt = now + retry_delay(message.attempts)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.PENDING,
            last_error=error[:2000],
            claimed_at=None,
            next_attempt_at=next_attempt,
        )
        logger.warning(
            "Outbox message #%s (%s, %s), attempt %d failed, next at %s: %s",
            message.pk,
            message.channel,
            message.template_key,
            message.attempts,
            next_attempt.isoformat(),
            error,
        )
        _enqueue(message.pk, run_after=next_attempt)
    message.refresh_from_db()
    return message


def outbox_deliver_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send what is due (first due first), at most `limit`; messages left 'sending' by a worker that died
    go back to the queue first. Run by `manage.py notifications_deliver` (cron or a timer)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS)
    OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=stale).update(
        status=OutboxStatus.PENDING, claimed_at=None, next_attempt_at=now
    )
    due = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    for message_id in due:
        message = outbox_deliver(message_id, now=now)
        if message is None:
            counts["skipped"] += 1
        elif message.status == OutboxStatus.SENT:
            counts["sent"] += 1
        elif message.status == OutboxStatus.FAILED:
            counts["failed"] += 1
        else:
            counts["retrying"] += 1
    return counts


def outbox_retry(*, message_ids: Iterable[int]) -> int:
    """Send failed messages again, from a first attempt; the last error stays until the next attempt."""
    ids = list(
        OutboxMessage.objects.filter(pk__in=list(message_ids), status=OutboxStatus.FAILED).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        count = OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.FAILED).update(
            status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        for message_id in ids:
            transaction.on_commit(lambda message_id=message_id: _enqueue(message_id))
    return count


def templates_install(template_model: Any, defaults: Iterable[dict[str, str]]) -> int:
    """Add default templates (dicts of key, language, subject, body) that are missing; never overwrite
    what an administrator edited. For data migrations: pass `apps.get_model("notifications",
    "MessageTemplate")`."""
    added = 0
    for default in defaults:
        _template, created = template_model.objects.get_or_create(
            key=default["key"],
            language=default["language"],
            defaults={"subject": default.get("subject", ""), "body": default["body"]},
        )
        added += created
    return added
