"""Message templates per language, and the outbox: every message queued, its attempts and its outcome."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# `{name}` is a placeholder; `{{` and `}}` are literal braces. Nothing else in braces: no attribute or
# index lookups (str.format's `{user.password}`), so a template edited in the admin reads only its context.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


def placeholders(text: str) -> list[str]:
    """The placeholders of a template text, in order; ValidationError on a stray or malformed brace."""
    names = []
    for match in PLACEHOLDER.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise ValidationError(
                _(
                    "A brace at character %(position)d is not a placeholder: write {name} with letters, "
                    "digits and _ only, or {{ and }} for a brace itself."
                ),
                code="template_syntax",
                params={"position": match.start() + 1},
            )
        names.append(match.group(1))
    return names


def render(text: str, context: dict[str, object]) -> str:
    """The text with each {name} replaced by its value; ValidationError naming any value missing."""
    missing = sorted({name for name in placeholders(text) if name not in context})
    if missing:
        raise ValidationError(
            _("The message needs values for: %(names)s."),
            code="template_context",
            params={"names": ", ".join(missing)},
        )

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return str(context[match.group(1)])

    return PLACEHOLDER.sub(substitute, text)


class MessageTemplate(models.Model):
    """One message in one language, edited in the admin; defaults are shipped by data migrations."""

    key = models.CharField(
        _("key"), max_length=100, help_text=_("What the message is for, e.g. grievance.status_changed")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("E-mail subject; SMS have none")
    )
    body = models.TextField(
        _("body"), help_text=_("Text with {placeholders}; write {{ and }} for a brace itself")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="notification_template_key_language")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"

    def clean(self) -> None:
        errors = {}
        for field in ("subject", "body"):
            try:
                placeholders(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxMessage(models.Model):
    """A message to send, sent, or that could not be sent (with why): the outbox keeps every one."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    template_key = models.CharField(_("template"), max_length=100)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, default=timezone.now)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at"]
        indexes = [
            # what is due (the sender's query), and the admin's filters by status and by channel
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due_idx"),
            models.Index(fields=["channel", "created_at"], name="outbox_channel_idx"),
            models.Index(fields=["created_at"], name="outbox_created_idx"),
            models.Index(fields=["recipient"], name="outbox_recipient_idx"),  # the admin's exact search
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OutboxStatus.values), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="outbox_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient}: {self.template_key}"
