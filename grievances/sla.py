"""The SLA check: open tickets past their due date become overdue and escalate one level to their team's
supervisor role, each with an "overdue" event. Set-based, in batches of tickets by due date, each batch
its own transaction (its tickets marked and their events written together), whatever the number of tickets.

On PostgreSQL a batch is one statement: the batch read on the SLA index (open, not overdue, by due date),
the UPDATE, and the events inserted from the UPDATE's RETURNING rows (no second scan to find them).
Elsewhere (SQLite: tests, the demo) the same in three statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from grievances.models import OPEN_STATUSES, EventKind, Team, Ticket, TicketEvent
from grievances.signals import tickets_escalated_on_commit

# Tickets per batch: large enough that a batch's fixed cost vanishes, small enough that a batch's
# transaction (row locks, memory of its RETURNING rows) stays short.
SLA_BATCH = 50_000

# A run marking this many tickets has changed the overdue share enough to analyse the table again (a sample
# of it: about a second at 1,000,000 tickets) rather than wait for autovacuum.
ANALYZE_ABOVE = 10_000

_OPEN = [str(status) for status in OPEN_STATUSES]


def _batch_postgresql(*, now: datetime, comment: str, size: int) -> int:
    tickets, events, teams = Ticket._meta.db_table, TicketEvent._meta.db_table, Team._meta.db_table
    statuses = ", ".join(["%s"] * len(_OPEN))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH batch AS ("
            f"  SELECT t.id, team.supervisor_role_id AS role FROM {tickets} t"
            f"  LEFT JOIN {teams} team ON team.id = t.team_id"
            f"  WHERE NOT t.overdue AND t.status IN ({statuses}) AND t.due_at < %s"
            f"  ORDER BY t.due_at LIMIT %s FOR UPDATE OF t SKIP LOCKED"
            f"), marked AS ("
            f"  UPDATE {tickets} t SET overdue = true, overdue_at = %s,"
            f"  escalation_level = t.escalation_level + 1, escalated_to_id = batch.role"
            f"  FROM batch WHERE t.id = batch.id"
            f"  RETURNING t.id, t.status, t.escalated_to_id, t.escalation_level"
            f") INSERT INTO {events} (ticket_id, kind, from_status, to_status, actor_id, at, comment, data)"
            f" SELECT id, %s, status, status, NULL, %s, %s,"
            f" jsonb_build_object('escalated_to', escalated_to_id, 'level', escalation_level) FROM marked",
            [*_OPEN, now, size, now, EventKind.OVERDUE.value, now, comment],
        )
        return cursor.rowcount


def _batch_generic(*, now: datetime, comment: str, size: int) -> int:
    due = Ticket.objects.filter(overdue=False, status__in=_OPEN, due_at__lt=now).order_by("due_at")
    ids = list(due.values_list("pk", flat=True)[:size])
    if not ids:
        return 0
    supervisor = Team.objects.filter(pk=OuterRef("team_id")).values("supervisor_role_id")[:1]
    Ticket.objects.filter(pk__in=ids).update(
        overdue=True,
        overdue_at=now,
        escalation_level=F("escalation_level") + 1,
        escalated_to_id=Subquery(supervisor),
    )
    at_value = Ticket._meta.get_field("overdue_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TicketEvent._meta.db_table} "
            "(ticket_id, kind, from_status, to_status, actor_id, at, comment, data) "
            "SELECT t.id, %s, t.status, t.status, NULL, %s, %s, "
            "json_object('escalated_to', t.escalated_to_id, 'level', t.escalation_level) "
            f"FROM {Ticket._meta.db_table} t WHERE t.overdue AND t.overdue_at = %s AND t.id IN "
            f"({', '.join(['%s'] * len(ids))})",
            [EventKind.OVERDUE.value, at_value, comment, at_value, *ids],
        )
    return len(ids)


def tickets_mark_overdue(
    *, now: datetime | None = None, progress: Any = None, batch_size: int = SLA_BATCH
) -> dict[str, Any]:
    """Mark and escalate every open ticket due before `now`, batch by batch; returns how many. The
    escalation signal is sent once, for every batch, when the last one has committed."""
    now = now or timezone.now()
    comment = _("Past its SLA: escalated to the team's supervisors.")
    batch = _batch_postgresql if connection.vendor == "postgresql" else _batch_generic
    total = None
    if progress is not None:  # one count on the SLA index, for the progress bar
        total = Ticket.objects.filter(overdue=False, status__in=_OPEN, due_at__lt=now).count()
        progress(done=0, total=total, message=_("%(n)s tickets past their SLA") % {"n": f"{total:,}"})
    marked = 0
    while True:
        with transaction.atomic():
            done = batch(now=now, comment=comment, size=batch_size)
        marked += done
        if progress is not None and done:
            progress(
                done=marked,
                total=max(total or 0, marked),
                message=_("%(n)s tickets overdue") % {"n": f"{marked:,}"},
            )
        if done < batch_size:
            break
    if connection.vendor == "postgresql" and marked >= ANALYZE_ABOVE:
        # Fresh statistics of the overdue flag: the lists' plans of "overdue" filters rest on its share.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    tickets_escalated_on_commit(sender=Ticket, at=now, count=marked)
    return {"overdue": marked, "events": marked, "at": now.isoformat()}
