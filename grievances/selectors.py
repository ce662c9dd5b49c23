"""Scoped reads of tickets: what a user may see (locations, sensitive cases), their queues."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from access.records import records_in_scope
from access.roles import User, user_holds_role_id
from grievances.models import Attachment, Team, Ticket, TicketEvent


def ticket_list(*, user: User) -> QuerySet[Ticket]:
    """Tickets the user may see: with the view permission, in their locations (tickets with no location:
    only for those who see everywhere), sensitive ones only for the sensitive-case role."""
    if not user.is_authenticated or not user.is_active or not user.has_perm("grievances.view_ticket"):
        return Ticket.objects.none()
    return records_in_scope(Ticket.objects.all(), user=user, location="location", sensitive="sensitive")


def ticket_visible(*, user: User, ticket: Ticket) -> bool:
    return ticket.pk is not None and ticket_list(user=user).filter(pk=ticket.pk).exists()


def my_tickets(*, user: User) -> QuerySet[Ticket]:
    return ticket_list(user=user).filter(assignee=user) if user.is_authenticated else Ticket.objects.none()


def user_team_ids(user: User) -> list[int]:
    if not user.is_authenticated:
        return []
    cached = user.__dict__.get("_grievance_team_ids")
    if cached is None:
        cached = list(Team.objects.filter(members=user).values_list("pk", flat=True))
        user.__dict__["_grievance_team_ids"] = cached
    return cached


def my_team_tickets(*, user: User) -> QuerySet[Ticket]:
    return ticket_list(user=user).filter(team__in=user_team_ids(user))


def user_supervises(*, user: User, team: Team | None) -> bool:
    """Is the user a member of the team holding its supervisor role (escalations go to them)?"""
    if team is None or team.supervisor_role_id is None:
        return False
    return team.pk in user_team_ids(user) and user_holds_role_id(user, team.supervisor_role_id)


def ticket_events(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.select_related("actor").order_by("at", "pk")


def ticket_attachments(*, ticket: Ticket) -> QuerySet[Attachment]:
    return ticket.attachments.select_related("uploaded_by").order_by("pk")


def tickets_about(*, user: User, field: str, record_id: int) -> QuerySet[Ticket]:
    """Tickets concerning one record (a payment line, a household ...) that the user may see."""
    return ticket_list(user=user).filter(Q(**{field: record_id})).select_related("category")
