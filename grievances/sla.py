"""The SLA check: open tickets past their due date become overdue and escalate one level to their team's
supervisor role, each with an "overdue" event. Two set-based statements, whatever the number of tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from grievances.models import OPEN_STATUSES, EventKind, Team, Ticket
from grievances.signals import tickets_escalated_on_commit


def _events_insert(*, at: datetime, comment: str) -> int:
    """One "overdue" event per ticket this run marked (they carry its time), with the role escalated to."""
    table, events = Ticket._meta.db_table, "grievances_ticketevent"
    data = (
        "jsonb_build_object('escalated_to', t.escalated_to_id, 'level', t.escalation_level)"
        if connection.vendor == "postgresql"
        else "json_object('escalated_to', t.escalated_to_id, 'level', t.escalation_level)"
    )
    at_value = Ticket._meta.get_field("overdue_at").get_db_prep_value(at, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} (ticket_id, kind, from_status, to_status, actor_id, at, comment, data) "
            f"SELECT t.id, %s, t.status, t.status, NULL, %s, %s, {data} FROM {table} t "
            "WHERE t.overdue AND t.overdue_at = %s",
            [EventKind.OVERDUE.value, at_value, comment, at_value],
        )
        return cursor.rowcount


def tickets_mark_overdue(*, now: datetime | None = None, progress: Any = None) -> dict[str, Any]:
    """Mark and escalate every open ticket due before `now`; returns how many."""
    now = now or timezone.now()
    supervisor = Team.objects.filter(pk=OuterRef("team_id")).values("supervisor_role_id")[:1]
    with transaction.atomic():
        marked = Ticket.objects.filter(
            overdue=False, status__in=[str(s) for s in OPEN_STATUSES], due_at__lt=now
        ).update(
            overdue=True,
            overdue_at=now,
            escalation_level=F("escalation_level") + 1,
            escalated_to_id=Subquery(supervisor),
        )
        if progress is not None:
            progress(done=1, total=2, message=_("%(n)s tickets overdue") % {"n": f"{marked:,}"})
        recorded = _events_insert(at=now, comment=_("Past its SLA: escalated to the team's supervisors."))
        tickets_escalated_on_commit(sender=Ticket, at=now, count=marked)
    return {"overdue": marked, "events": recorded, "at": now.isoformat()}
