"""Signals of the grievance module: the apps and modules that notify hear a ticket's steps here.

`ticket_status_changed(sender=Ticket, ticket=, event=)` is sent once the transaction that wrote the step
has committed (never on a rollback), for every step that changes a ticket's status (`event.kind`:
created, assigned, started, resolved, closed, reopened, rejected) and for an escalation of one ticket
(overdue). The SLA job's bulk escalation of many tickets sends `tickets_escalated(sender=Ticket, at=,
count=)` once instead of one signal per ticket: its events are those of kind "overdue" at `at`.
A receiver that fails is logged; the others run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

ticket_status_changed = Signal()
tickets_escalated = Signal()


def _send_robust(signal: Signal, sender: Any, **kwargs: Any) -> None:
    for receiver, error in signal.send_robust(sender=sender, **kwargs):
        if isinstance(error, Exception):
            logger.error(
                "Receiver %r of a grievance signal failed",
                receiver,
                exc_info=(type(error), error, error.__traceback__),
            )


def ticket_status_changed_on_commit(*, ticket: Any, event: Any) -> None:
    transaction.on_commit(
        lambda: _send_robust(ticket_status_changed, type(ticket), ticket=ticket, event=event)
    )


def tickets_escalated_on_commit(*, sender: Any, at: Any, count: int) -> None:
    if count:
        transaction.on_commit(lambda: _send_robust(tickets_escalated, sender, at=at, count=count))
