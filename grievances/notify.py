"""Tell the complainant and the assignee when a ticket changes status: SMS or e-mail through
`notifications`, in the complainant's language (the one they filed in) and the assignee's own.

Heard from `grievances.signals.ticket_status_changed`, which is sent after the step's transaction
committed; the messages are queued in one transaction of their own and sent by the outbox's task.
Nothing personal is in a message: the ticket number, its new status, where to follow it. The default
texts (every language of the portal) are shipped by grievances/migrations/0003_notification_templates.py.
A message that cannot be queued (no template, a malformed phone number) is logged and the others still go.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from grievances.models import EventKind, Ticket, TicketStatus
from notifications.models import Channel
from notifications.services import notification_send

logger = logging.getLogger(__name__)

COMPLAINANT_TEMPLATE = "grievance.status_changed.complainant"
ASSIGNEE_TEMPLATE = "grievance.status_changed.assignee"
# The steps the complainant hears of; an escalation (overdue) is internal.
COMPLAINANT_EVENTS = {
    EventKind.CREATED,
    EventKind.ASSIGNED,
    EventKind.STARTED,
    EventKind.RESOLVED,
    EventKind.CLOSED,
    EventKind.REOPENED,
    EventKind.REJECTED,
}


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _ticket_url(ticket: Ticket) -> str:
    try:
        return _absolute(reverse("admin:grievances_ticket_change", args=[ticket.pk]))
    except NoReverseMatch:  # the tickets' admin pages are not installed
        return _absolute(reverse("admin:index"))


def _status_label(status: str, language: str) -> str:
    with translation.override(language):
        return str(TicketStatus(status).label)


def _queue(
    *, channel: str, recipient: str, template: str, language: str, context: dict[str, Any], ticket: Ticket
) -> None:
    try:
        with transaction.atomic():
            notification_send(
                channel=channel, recipient=recipient, template=template, language=language, context=context
            )
    except ValidationError as exc:
        logger.error(
            "Ticket %s: the %s notification (%s) could not be queued: %s",
            ticket.number,
            channel,
            template,
            " ".join(exc.messages),
        )


def _complainant_contacts(ticket: Ticket) -> list[tuple[str, str]]:
    if ticket.anonymous:
        return []
    contacts = []
    phone = ticket.complainant_phone or (
        ticket.complainant_individual.phone if ticket.complainant_individual_id else ""
    )
    if phone:
        contacts.append((Channel.SMS, phone))
    email = getattr(ticket, "complainant_email", "")
    if email:
        contacts.append((Channel.EMAIL, email))
    return contacts


def _user_language(user: Any) -> str:
    profile = getattr(user, "profile", None)  # the portal's profile, if the user has one
    return getattr(profile, "preferred_language", "") or settings.LANGUAGE_CODE


def ticket_status_notify(sender: Any, *, ticket: Ticket, event: Any, **kwargs: Any) -> None:
    ticket = Ticket.objects.select_related("complainant_individual", "assignee").filter(pk=ticket.pk).first()
    if ticket is None:
        return
    if event.kind in COMPLAINANT_EVENTS:
        language = getattr(ticket, "language", "") or settings.LANGUAGE_CODE
        context = {
            "number": ticket.number,
            "status": _status_label(ticket.status, language),
            "status_url": _absolute(reverse("grievances_public:status")),
        }
        for channel, recipient in _complainant_contacts(ticket):
            _queue(
                channel=channel,
                recipient=recipient,
                template=COMPLAINANT_TEMPLATE,
                language=language,
                context=context,
                ticket=ticket,
            )
    assignee = ticket.assignee
    if assignee is not None and assignee.email and assignee.pk != event.actor_id:
        language = _user_language(assignee)
        _queue(
            channel=Channel.EMAIL,
            recipient=assignee.email,
            template=ASSIGNEE_TEMPLATE,
            language=language,
            context={
                "number": ticket.number,
                "status": _status_label(ticket.status, language),
                "ticket_url": _ticket_url(ticket),
            },
            ticket=ticket,
        )


def connect() -> None:
    from grievances.signals import ticket_status_changed

    ticket_status_changed.connect(
        ticket_status_notify, sender=Ticket, dispatch_uid="grievances.notify.ticket_status_notify"
    )
