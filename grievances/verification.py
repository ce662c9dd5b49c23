"""A payment verification that found a discrepancy opens a ticket about the payment line by itself.

Payments announces it (`payments.signals.verification_discrepancy`, after its commit, once per record that
becomes discrepant); this receiver files the ticket in the category "Payment not received" (made by the
grievances migration 0005, and again here if an administrator removed it) through `ticket_create`, linked
to the line, at its location, the recipient as complainant. A failure is logged by the sender and the
verification stays recorded.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from grievances.models import Channel

PAYMENT_NOT_RECEIVED = "payment-not-received"

# How the recipient was reached → the ticket's channel.
CHANNELS = {"phone": Channel.PHONE, "visit": Channel.FIELD_AGENT, "provider_data": Channel.FIELD_AGENT}


def verification_ticket_description(record: Any, line: Any) -> str:
    if record.received:
        said = _("received %(received)s of %(paid)s") % {
            "received": record.amount_received,
            "paid": record.amount_paid,
        }
    else:
        said = _("did not receive the %(paid)s paid") % {"paid": record.amount_paid}
    text = _("Payment verification %(plan)s: the recipient of %(line)s %(said)s (%(method)s, %(when)s).") % {
        "plan": record.plan,
        "line": line.reference,
        "said": said,
        "method": record.get_method_display(),
        "when": f"{record.recorded_at:%Y-%m-%d}" if record.recorded_at else "",
    }
    return f"{text}\n{record.comment}".strip()


def verification_discrepancy_ticket(sender: Any, record: Any, line: Any, **kwargs: Any) -> Any:
    """Open the ticket about the payment line (the system files it: no staff user, no scope check)."""
    from grievances.models import Category
    from grievances.services import ticket_create

    # The system's own category: a verification's ticket is never lost because it was removed.
    Category.objects.get_or_create(
        code=PAYMENT_NOT_RECEIVED, defaults={"name": "Payment not received", "sla_days": 14}
    )
    return ticket_create(
        user=None,
        channel=CHANNELS.get(record.method, Channel.FIELD_AGENT),
        category=PAYMENT_NOT_RECEIVED,
        description=verification_ticket_description(record, line),
        complainant_individual=line.recipient,
        subject=line,
        location=line.location,
    )


def verification_discrepancy_connect() -> None:
    from payments.signals import verification_discrepancy

    verification_discrepancy.connect(
        verification_discrepancy_ticket, dispatch_uid="grievances.verification_discrepancy_ticket"
    )
