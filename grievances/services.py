"""Every write of the grievance module: file a ticket, move it through its lifecycle, attach, comment.

Each service is keyword-only and atomic, checks who may act (permission, scope, sensitive cases, the
assignee) and what the lifecycle allows, locks the ticket row, records the step as a `TicketEvent` and
sends `grievances.signals.ticket_status_changed` after the commit. A refusal is a ValidationError naming
the field it concerns. The admin's buttons, the public page and the API all come here, so a forged POST
meets the same checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from access.roles import User
from access.scope import location_path_in_scope
from files.attachments import HEAD_BYTES, attachment_check
from grievances.models import (
    Attachment,
    Category,
    Channel,
    EventKind,
    Priority,
    RejectReason,
    Team,
    Ticket,
    TicketEvent,
    TicketNumber,
    TicketStatus,
    reopen_days,
)
from grievances.partners import GrievancePartner
from grievances.selectors import ticket_list, ticket_visible, user_supervises
from grievances.signals import ticket_status_changed_on_commit
from grievances.subjects import subject_kind
from notifications.models import Channel as NotificationChannel
from notifications.services import recipient_clean
from registry.models import PATH_STEP, Individual, Location

MAX_DESCRIPTION = 10_000
MAX_ATTACHMENTS = 10


def _staff(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def _require(user: User | None, permission: str) -> None:
    if not _staff(user) or not user.has_perm(permission):  # type: ignore[union-attr]
        raise PermissionDenied(_("You may not do this with grievance tickets."))


# --- filing a ticket ---------------------------------------------------------------------------------


def _number_next(year: int) -> str:
    """`GRV-<year>-<n>`: the year's counter row, locked until the ticket's transaction ends, so two tickets
    filed at once never share a number (gaps only when a filing rolls back)."""
    TicketNumber.objects.get_or_create(year=year)
    TicketNumber.objects.filter(year=year).update(last=F("last") + 1)
    last = TicketNumber.objects.filter(year=year).values_list("last", flat=True).get()
    return f"GRV-{year}-{last:06d}"


def _path_prefixes(path: str) -> list[str]:
    step = PATH_STEP + 1
    return [path[:end] for end in range(step, len(path) + 1, step)]


def ticket_route(*, category: Category, location: Location | None) -> Team | None:
    """The team a new ticket goes to: of the teams handling its category (or the parent category) in its
    location or above, the one of the nearest location; else the category's routing team (or the
    parent's)."""
    categories = [category.pk] + ([category.parent_id] if category.parent_id else [])
    if location is not None and location.path:
        team = (
            Team.objects.filter(categories__in=categories, locations__path__in=_path_prefixes(location.path))
            .annotate(depth=Length("locations__path"))
            .order_by("-depth", "pk")
            .first()
        )
        if team is not None:
            return team
    if category.team_id:
        return category.team
    return category.parent.team if category.parent_id and category.parent.team_id else None


def _category_get(category: Category | int | str | None) -> Category:
    if isinstance(category, Category):
        found = Category.objects.filter(pk=category.pk, active=True).select_related("parent").first()
    elif category in (None, ""):
        raise ValidationError({"category": _("Choose a category.")})
    else:
        lookup = {"pk": category} if str(category).isdigit() else {"code": category}
        found = Category.objects.filter(active=True, **lookup).select_related("parent").first()
    if found is None:
        raise ValidationError({"category": _("Unknown category: %(value)s.") % {"value": category}})
    return found


def _subject_fields(*, user: User | None, subject: Any) -> tuple[dict[str, Any], Location | None]:
    """The ticket fields naming the subject, and its location; refuse a record the user may not see."""
    if subject is None:
        return {}, None
    kind = subject_kind(subject)
    if kind is None or subject.pk is None:
        raise ValidationError({"subject": _("A ticket cannot concern this kind of record.")})
    if user is not None and not kind.visible(user).filter(pk=subject.pk).exists():
        raise ValidationError({"subject": _("%(record)s is outside what you can see.") % {"record": subject}})
    if kind.field is not None:
        fields: dict[str, Any] = {kind.field: subject}
    else:
        from django.contrib.contenttypes.models import ContentType

        fields = {"subject_type": ContentType.objects.get_for_model(subject), "subject_id": subject.pk}
    location = kind.location(subject)
    return fields, location if isinstance(location, Location) else None


def _complainant_check(
    *,
    user: User | None,
    individual: Individual | None,
    name: str,
    phone: str,
    anonymous: bool,
    email: str = "",
) -> None:
    if phone:
        try:
            recipient_clean(NotificationChannel.SMS, phone)  # the number an SMS will be sent to
        except ValidationError as exc:
            raise ValidationError({"complainant_phone": exc.messages}) from None
    if anonymous and (individual is not None or name or phone or email):
        raise ValidationError(
            {
                "anonymous": _(
                    "An anonymous complaint names no complainant: clear the name, phone, e-mail and person."
                )
            }
        )
    if individual is not None and user is not None:
        kind = subject_kind(individual)
        if kind is None or not kind.visible(user).filter(pk=individual.pk).exists():
            raise ValidationError(
                {
                    "complainant_individual": _("%(person)s is outside what you can see.")
                    % {"person": individual}
                }
            )


def _attachments_read(files: Iterable[Any]) -> list[tuple[str, bytes, str]]:
    """Every attachment checked before anything is stored: (name, content, extension)."""
    read = []
    for position, upload in enumerate(files, start=1):
        if position > MAX_ATTACHMENTS:
            raise ValidationError({"attachments": _("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS}})
        name = str(getattr(upload, "name", "") or f"attachment-{position}")[-200:]
        size = getattr(upload, "size", None)
        if size is not None:  # refuse an oversized file before reading it
            try:
                attachment_check(name=name, size=int(size), head=b"%PDF-")
            except ValidationError as exc:
                raise ValidationError({"attachments": exc.messages}) from None
        content = upload.read() if hasattr(upload, "read") else bytes(upload)
        try:
            extension = attachment_check(name=name, size=len(content), head=content[:HEAD_BYTES])
        except ValidationError as exc:
            raise ValidationError({"attachments": exc.messages}) from None
        read.append((name, content, extension))
    return read


def _attachments_store(*, ticket: Ticket, user: User | None, files: list[tuple[str, bytes, str]]) -> None:
    for name, content, extension in files:
        attachment = Attachment(
            ticket=ticket, name=name, size=len(content), uploaded_by=user if _staff(user) else None
        )
        attachment.file.save(f"{ticket.number}.{extension}", ContentFile(content), save=False)
        attachment.save()


def _language(code: str) -> str:
    """The complainant's language among the portal's, else its default."""
    code = (code or "").split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _event(
    ticket: Ticket,
    *,
    kind: str,
    user: User | None,
    comment: str = "",
    from_status: str = "",
    data: dict[str, Any] | None = None,
    notify: bool = True,
) -> TicketEvent:
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        from_status=from_status,
        to_status=ticket.status if from_status or kind == EventKind.CREATED else "",
        actor=user if _staff(user) else None,
        comment=comment,
        data=data or {},
    )
    if notify:
        ticket_status_changed_on_commit(ticket=ticket, event=event)
    return event


@transaction.atomic
def ticket_create(
    *,
    user: User | None,
    channel: str,
    category: Category | int | str,
    description: str,
    complainant_individual: Individual | None = None,
    complainant_name: str = "",
    complainant_phone: str = "",
    anonymous: bool = False,
    subject: Any = None,
    location: Location | None = None,
    priority: int | None = None,
    attachments: Iterable[Any] = (),
    partner: GrievancePartner | None = None,
    complainant_email: str = "",
    language: str = "",
) -> Ticket:
    """File a ticket, number it, route it to a team and record its first event.

    `user` is the staff member recording it, or None for the public page and the partner API (whose
    caller has checked the client); a staff member may link only records and locations in their scope.
    """
    # Long on purpose: one validation pass over every field, so all refusals name their field first.
    if user is not None:
        _require(user, "grievances.add_ticket")
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel: %(value)s.") % {"value": channel}})
    found = _category_get(category)
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Describe the complaint.")})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError({"description": _("At most %(n)s characters.") % {"n": f"{MAX_DESCRIPTION:,}"}})
    complainant_name, complainant_phone = (complainant_name or "").strip(), (complainant_phone or "").strip()
    _complainant_check(
        user=user,
        individual=complainant_individual,
        name=complainant_name,
        phone=complainant_phone,
        anonymous=anonymous,
        email=(complainant_email or "").strip(),
    )
    if priority is not None and priority not in Priority.values:
        raise ValidationError({"priority": _("Unknown priority: %(value)s.") % {"value": priority}})
    subject_fields, subject_location = _subject_fields(user=user, subject=subject)
    if location is None:
        location = subject_location or (complainant_individual.location if complainant_individual else None)
    if location is not None and user is not None and not location_path_in_scope(user, location.path):
        raise ValidationError({"location": _("%(place)s is outside your locations.") % {"place": location}})
    files = _attachments_read(attachments)

    now = timezone.now()
    ticket = Ticket(
        number=_number_next(timezone.localdate(now).year),
        channel=channel,
        category=found,
        sensitive=found.sensitive or bool(found.parent_id and found.parent.sensitive),
        description=description,
        complainant_individual=complainant_individual,
        complainant_name=complainant_name,
        complainant_phone=complainant_phone,
        anonymous=anonymous,
        complainant_email=(complainant_email or "").strip(),
        language=_language(language),
        location=location,
        priority=priority or found.default_priority,
        team=ticket_route(category=found, location=location),
        created_by=user if _staff(user) else None,
        partner=partner,
        created_at=now,
        due_at=now + timedelta(days=found.sla_days),
        **subject_fields,
    )
    ticket.full_clean(exclude=["tracking_code", "number", "due_at", "status"])
    ticket.save()
    _attachments_store(ticket=ticket, user=user, files=files)
    _event(
        ticket,
        kind=EventKind.CREATED,
        user=user,
        data={"channel": channel, "team": ticket.team_id, "attachments": len(files)},
    )
    return ticket


# --- the lifecycle -----------------------------------------------------------------------------------


def _locked(*, ticket: Ticket, user: User | None) -> Ticket:
    """The ticket row, locked, as this user may see it (404-like refusal otherwise)."""
    scope = ticket_list(user=user) if user is not None else Ticket.objects.all()
    # Only the ticket row: the scope's join must not lock the location it names.
    locked = scope.select_for_update(of=("self",)).filter(pk=ticket.pk).first()
    if locked is None:
        raise PermissionDenied(_("This ticket is not one you can see."))
    return locked


def _handler(user: User | None, ticket: Ticket) -> None:
    """Starting and resolving are for the assignee, or a supervisor of the ticket's team."""
    if ticket.assignee_id == getattr(user, "pk", None):
        return
    if not user_supervises(user=user, team=ticket.team):
        raise PermissionDenied(_("Only the assignee or a supervisor of the ticket's team may do this."))


def _transition(ticket: Ticket, name: str) -> str:
    method = getattr(ticket, name)
    if not can_proceed(method):
        if name == "reopen" and ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise ValidationError(
                {
                    "status": _("A ticket can be reopened within %(days)s days of its resolution.")
                    % {"days": reopen_days()}
                }
            )
        raise ValidationError(
            {
                "status": _("A %(status)s ticket cannot be %(step)s.")
                % {"status": ticket.get_status_display(), "step": _(name)}
            }
        )
    before = ticket.status
    method()
    return before


def _comment(comment: str, *, required: bool = False) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise ValidationError({"comment": _("Say why: a comment is required.")})
    return comment


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, user: User, comment: str = "", assignee: Any, team: Team | None = None
) -> Ticket:
    """Give the ticket to a user (and optionally move it to another team); reassigning is allowed while
    it is open. The assignee must be able to handle it: see it and change tickets."""
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    if assignee is None or not _staff(assignee) or not assignee.has_perm("grievances.change_ticket"):
        raise ValidationError({"assignee": _("Choose an active user who handles grievances.")})
    if not ticket_visible(user=assignee, ticket=ticket):
        raise ValidationError({"assignee": _("%(user)s cannot see this ticket.") % {"user": assignee}})
    before = _transition(ticket, "assign")
    ticket.assignee = assignee
    if team is not None:
        ticket.team = team
    ticket.save()
    _event(
        ticket,
        kind=EventKind.ASSIGNED,
        user=user,
        comment=_comment(comment),
        from_status=before,
        data={"assignee": assignee.pk, "team": ticket.team_id},
    )
    return ticket


@transaction.atomic
def ticket_start(*, ticket: Ticket, user: User, comment: str = "") -> Ticket:
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    _handler(user, ticket)
    before = _transition(ticket, "start")
    ticket.save()
    _event(ticket, kind=EventKind.STARTED, user=user, comment=_comment(comment), from_status=before)
    return ticket


def _resolve(
    ticket: Ticket, *, user: User | None, resolution: str, comment: str, data: dict[str, Any]
) -> Ticket:
    before = _transition(ticket, "resolve")
    ticket.resolution = resolution
    ticket.save()
    _event(ticket, kind=EventKind.RESOLVED, user=user, comment=comment, from_status=before, data=data)
    return ticket


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, user: User, comment: str = "", resolution: str) -> Ticket:
    """Record how the complaint was resolved. A resolution that changes data goes through
    `ticket_resolution_request` instead, and resolves the ticket when its approval task is executed."""
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    _handler(user, ticket)
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Say how the complaint was resolved.")})
    if ticket.resolution_task_id is not None:
        raise ValidationError(
            {"status": _("This ticket waits for its approval request: it resolves when that is executed.")}
        )
    return _resolve(ticket, user=user, resolution=resolution, comment=_comment(comment), data={})


@transaction.atomic
def ticket_close(*, ticket: Ticket, user: User, comment: str = "") -> Ticket:
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    before = _transition(ticket, "close")
    ticket.save()
    _event(ticket, kind=EventKind.CLOSED, user=user, comment=_comment(comment), from_status=before)
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, user: User | None, comment: str) -> Ticket:
    """Reopen a resolved or closed ticket within GRIEVANCES_REOPEN_DAYS of its resolution; it goes back
    to its assignee (or is received again when it had none). `user` None: the complainant, through the
    public page with the tracking code (its caller checked the code)."""
    if user is not None:
        _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    comment = _comment(comment, required=True)
    before = _transition(ticket, "reopen")
    category = Category.objects.only("sla_days").get(pk=ticket.category_id)
    ticket.due_at = timezone.now() + timedelta(days=category.sla_days)
    ticket.resolution = ""
    ticket.save()
    _event(ticket, kind=EventKind.REOPENED, user=user, comment=comment, from_status=before)
    return ticket


@transaction.atomic
def ticket_reject(
    *, ticket: Ticket, user: User, comment: str = "", reason: str, related_ticket: Ticket | None = None
) -> Ticket:
    """Close an open ticket as not a grievance, a duplicate of another ticket, or linked to another."""
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    if reason not in RejectReason.values:
        raise ValidationError({"reason": _("Unknown reason: %(value)s.") % {"value": reason}})
    if reason in (RejectReason.DUPLICATE, RejectReason.LINKED):
        if related_ticket is None:
            raise ValidationError(
                {"related_ticket": _("Name the ticket this one duplicates or is linked to.")}
            )
        if related_ticket.pk == ticket.pk or not ticket_visible(user=user, ticket=related_ticket):
            raise ValidationError({"related_ticket": _("Name another ticket you can see.")})
    else:
        related_ticket = None
    before = _transition(ticket, "reject")
    ticket.reject_reason, ticket.related_ticket = reason, related_ticket
    ticket.save()
    _event(
        ticket,
        kind=EventKind.REJECTED,
        user=user,
        comment=_comment(comment),
        from_status=before,
        data={"reason": reason, "related_ticket": related_ticket.pk if related_ticket else None},
    )
    return ticket


@transaction.atomic
def ticket_comment(*, ticket: Ticket, user: User, comment: str, public: bool = False) -> TicketEvent:
    """A comment on the ticket; `public`: the complainant reads it on the public status page."""
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    event = _event(
        ticket, kind=EventKind.COMMENT, user=user, comment=_comment(comment, required=True), notify=False
    )
    if public:
        TicketEvent.objects.filter(pk=event.pk).update(public=True)
        event.public = True
    return event


@transaction.atomic
def ticket_attach(*, ticket: Ticket, user: User, attachments: Iterable[Any], comment: str = "") -> Ticket:
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    files = _attachments_read(attachments)
    if not files:
        raise ValidationError({"attachments": _("Choose a file.")})
    _attachments_store(ticket=ticket, user=user, files=files)
    _event(
        ticket,
        kind=EventKind.ATTACHMENT,
        user=user,
        comment=_comment(comment),
        data={"files": len(files)},
        notify=False,
    )
    return ticket


def tickets_assign_bulk(*, tickets: Iterable[Ticket], user: User, assignee: Any, comment: str = "") -> int:
    """The admin's bulk assign: each ticket through `ticket_assign` (every check), all or none."""
    with transaction.atomic():
        count = 0
        for ticket in tickets:
            ticket_assign(ticket=ticket, user=user, assignee=assignee, comment=comment)
            count += 1
    return count


__all__ = [
    "ticket_assign",
    "ticket_attach",
    "ticket_close",
    "ticket_comment",
    "ticket_create",
    "ticket_reject",
    "ticket_reopen",
    "ticket_resolve",
    "ticket_route",
    "ticket_start",
    "tickets_assign_bulk",
]
