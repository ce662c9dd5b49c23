"""How a message leaves: e-mail through Django's e-mail backend, SMS through the gateway in SMS_BACKEND.

SMS_BACKEND is a dotted path to a class with `send(*, to, text)`, raising `SendError` when the gateway
refuses; `permanent=True` when trying again cannot help (the gateway rejected the number or the token).
"""

from __future__ import annotations

import json
import logging
import smtplib
import sys
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from notifications.models import Channel

logger = logging.getLogger(__name__)

# HTTP answers a gateway may give again differently: too many requests, timeouts; and every 5xx.
TEMPORARY_HTTP = {408, 425, 429}


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class HttpSmsBackend:
    """POSTs {"to": ..., "text": ...} as JSON to SMS_HTTP_URL with `Authorization: Bearer SMS_HTTP_TOKEN`.

    Any 2xx is sent; 5xx, 408, 425, 429 and network errors are tried again later; any other answer is
    a permanent refusal. The token never appears in an error.
    """

    def send(self, *, to: str, text: str) -> None:
        url = settings.SMS_HTTP_URL
        if not url:
            raise SendError("SMS_HTTP_URL is not set: the SMS gateway is unknown", permanent=True)
        request = urllib.request.Request(
            url,
            data=json.dumps({"to": to, "text": text}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT) as response:  # noqa: S310
                response.read(1024)
        except urllib.error.HTTPError as exc:
            answer = exc.read(500).decode("utf-8", "replace").strip()
            temporary = exc.code >= 500 or exc.code in TEMPORARY_HTTP
            raise SendError(
                f"The SMS gateway answered HTTP {exc.code}: {answer or exc.reason}", permanent=not temporary
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SendError(f"The SMS gateway could not be reached: {reason}") from exc


class ConsoleSmsBackend:
    """Prints each SMS on standard output: the demo's gateway."""

    def send(self, *, to: str, text: str) -> None:
        sys.stdout.write(f"SMS to {to}: {text}\n")
        sys.stdout.flush()


class MemorySmsBackend:
    """Keeps each SMS in `MemorySmsBackend.outbox`, as Django's locmem e-mail backend does: for tests."""

    outbox: list[dict[str, str]] = []

    def send(self, *, to: str, text: str) -> None:
        type(self).outbox.append({"to": to, "text": text})


def sms_backend() -> Any:
    return import_string(settings.SMS_BACKEND)()


def message_deliver(*, channel: str, recipient: str, subject: str, body: str) -> None:
    """Hand one message to its channel; SendError when it did not leave."""
    if channel == Channel.EMAIL:
        message = EmailMessage(subject=subject, body=body, to=[recipient])
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"The mail server refused the address: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"The mail server did not take the message: {exc}") from exc
    elif channel == Channel.SMS:
        sms_backend().send(to=recipient, text=body)
    else:
        raise SendError(f"Unknown channel {channel!r}", permanent=True)
