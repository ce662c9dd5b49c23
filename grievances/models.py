"""Grievance data: categories, teams, tickets (a state machine), their history of events and attachments.

Every write goes through `grievances.services`; the FSM fields are protected, so a form or a forged POST
cannot move a ticket's status by assigning it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

# A tracking code is read over the phone and typed on the public page: no 0/O, 1/I/L.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 12  # 31**12 ≈ 2**59: not guessable, and the public page is rate-limited


def tracking_code_new() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def reopen_days() -> int:
    """Days after its resolution during which a ticket may be reopened (setting GRIEVANCES_REOPEN_DAYS)."""
    return int(settings.GRIEVANCES_REOPEN_DAYS)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Channel(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web form")
    FIELD_AGENT = "field_agent", _("Field agent")
    PARTNER_API = "partner_api", _("Partner API")


class TicketStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")


OPEN_STATUSES = (TicketStatus.RECEIVED, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS)
REOPENABLE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class RejectReason(models.TextChoices):
    NOT_GRIEVANCE = "not_grievance", _("Not a grievance")
    DUPLICATE = "duplicate", _("Duplicate of another ticket")
    LINKED = "linked", _("Linked to another ticket")


class Team(models.Model):
    """A group of users handling tickets in some locations; its supervisor role receives escalations."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="grievance_teams", verbose_name=_("members")
    )
    locations = models.ManyToManyField(
        "registry.Location",
        blank=True,
        related_name="grievance_teams",
        verbose_name=_("locations"),
        help_text=_("Tickets in these locations (or below) are routed to this team; none: everywhere."),
    )
    categories = models.ManyToManyField(
        "Category",
        blank=True,
        related_name="teams",
        verbose_name=_("categories"),
        help_text=_("Categories this team handles in its locations (besides those naming it as their team)."),
    )
    supervisor_role = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("supervisor role"),
        help_text=_("Overdue tickets are escalated to the holders of this role in the team."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """What a complaint is about; a sub-category names its parent (two levels)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent category"),
    )
    default_priority = models.PositiveSmallIntegerField(
        _("default priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    sla_days = models.PositiveSmallIntegerField(
        _("SLA in days"), default=14, help_text=_("Days to resolve a ticket before it is overdue.")
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="routed_categories",
        verbose_name=_("routing team"),
        help_text=_("Where new tickets go when no team of their location handles the category."),
    )
    sensitive = models.BooleanField(
        _("sensitive"),
        default=False,
        help_text=_(
            "Gender-based violence, fraud and corruption: visible only to the sensitive-case role, "
            "never exported in bulk."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["parent__name", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(condition=Q(sla_days__gte=1), name="grievance_category_sla_positive"),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="grievance_category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name

    def clean(self) -> None:
        if self.parent_id is not None:
            parent = Category.objects.filter(pk=self.parent_id).values("parent_id").first()
            if parent and parent["parent_id"] is not None:
                raise ValidationError({"parent": _("A sub-category's parent must be a top-level category.")})
            if self.pk and self.parent_id == self.pk:
                raise ValidationError({"parent": _("A category cannot be its own parent.")})


class TicketNumber(models.Model):
    """The last ticket number given in a year: `GRV-<year>-<n>` comes from this row, locked, so two
    tickets created at once never get the same number (and numbers restart each year)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket number sequence")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


def _partial_fk_index(field: str, name: str) -> models.Index:
    # Most tickets concern no such record: an index of the rows that do is small and serves the lookup.
    return models.Index(fields=[field], name=name, condition=Q(**{f"{field}__isnull": False}))


class Ticket(FSMModelMixin, models.Model):
    """One complaint: who, about what, where; its status moves only through the transitions below."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    tracking_code = models.CharField(
        _("tracking code"), max_length=16, unique=True, editable=False, default=tracking_code_new
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="tickets", db_index=False, verbose_name=_("category")
    )
    # A copy of the category's flag when the ticket was filed: the visibility filter needs no join.
    sensitive = models.BooleanField(_("sensitive"), default=False, editable=False)
    description = models.TextField(_("description"))
    # The complainant: a registry person, or a name and phone, or nobody (anonymous).
    complainant_individual = models.ForeignKey(
        "registry.Individual",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("complainant (registered)"),
    )
    complainant_name = models.CharField(_("complainant name"), max_length=200, blank=True)
    complainant_phone = models.CharField(_("complainant phone"), max_length=32, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    # How to tell the complainant of each step (grievances.notify), and in which language.
    # Database defaults too: the set-based writers (SLA job, benches, demo data) name only their columns.
    complainant_email = models.EmailField(_("complainant e-mail"), max_length=254, blank=True, db_default="")
    language = models.CharField(
        _("complainant's language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        db_default=settings.LANGUAGE_CODE,
    )
    # What the complaint is about: at most one of these (a database constraint says so).
    household = models.ForeignKey(
        "registry.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    individual = models.ForeignKey(
        "registry.Individual",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    beneficiary = models.ForeignKey(
        "programs.Beneficiary",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    benefit = models.ForeignKey(
        "payments.Benefit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("payment line"),
    )
    decision = models.ForeignKey(
        "approvals.Task",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("approval decision"),
    )
    # Any other kind of record offered by an app above this one (an upload batch): `grievances.subjects`.
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    other_subject = GenericForeignKey("subject_type", "subject_id")
    location = models.ForeignKey(
        "registry.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("location"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    status = FSMField(
        _("status"),
        max_length=16,
        choices=TicketStatus.choices,
        default=TicketStatus.RECEIVED,
        protected=True,
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grievance_tickets",
        db_index=False,
        verbose_name=_("assignee"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The API partner (a partner organisation's or the field agents' app) that filed it, if any.
    partner = models.ForeignKey(
        "GrievancePartner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
        verbose_name=_("API partner"),
    )
    created_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    due_at = models.DateTimeField(_("due"), editable=False)
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue = models.BooleanField(_("overdue"), default=False, editable=False)
    overdue_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalation_level = models.PositiveSmallIntegerField(default=0, editable=False)
    # No index: no screen filters by it, and the SLA job sets it on every ticket it escalates (one index
    # entry less per row of its UPDATE); removing a role (rare) scans the tickets once.
    escalated_to = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=_("escalated to"),
    )
    resolution = models.TextField(_("resolution"), blank=True)
    reject_reason = models.CharField(
        _("rejected as"), max_length=16, choices=RejectReason.choices, blank=True
    )
    related_ticket = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("duplicate of / linked to"),
    )
    # The maker-checker request a resolution needs (a registry edit, a status change): the ticket
    # resolves when it is executed.
    resolution_task = models.ForeignKey(
        "approvals.Task",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("approval request"),
    )
    history = HistoricalRecords(excluded_fields=["tracking_code"])

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # The changelist pages by -pk: each filter it offers has an index ending in the key, so a page of
        # 50 is read in order without sorting or counting the table.
        indexes = [
            models.Index(fields=["status", "id"], name="ticket_status_idx"),
            models.Index(fields=["category", "id"], name="ticket_category_idx"),
            models.Index(fields=["team", "id"], name="ticket_team_idx"),
            models.Index(fields=["assignee", "id"], name="ticket_assignee_idx"),
            models.Index(fields=["location", "id"], name="ticket_location_idx"),
            models.Index(fields=["id"], name="ticket_overdue_idx", condition=Q(overdue=True)),
            # Two filters at once, as the list's filters combine them: status and category (a category
            # filter is the category and its sub-categories, an IN list: the rows of each are read by the
            # index and the page sorted, never the table walked in key order); overdue tickets of a place
            # (the location filter gives the place's ids; one id reads the index in order).
            models.Index(fields=["status", "category", "id"], name="ticket_status_category_idx"),
            models.Index(
                fields=["location", "id"], name="ticket_overdue_location_idx", condition=Q(overdue=True)
            ),
            # The SLA job's scan: open tickets not yet overdue, by due date.
            models.Index(
                fields=["due_at"],
                name="ticket_sla_due_idx",
                condition=Q(overdue=False, status__in=["received", "assigned", "in_progress"]),
            ),
            # The dashboard's time to resolution, over the last year.
            models.Index(
                fields=["resolved_at"], name="ticket_resolved_idx", condition=Q(resolved_at__isnull=False)
            ),
            _partial_fk_index("complainant_individual", "ticket_complainant_idx"),
            _partial_fk_index("household", "ticket_household_idx"),
            _partial_fk_index("individual", "ticket_individual_idx"),
            _partial_fk_index("beneficiary", "ticket_beneficiary_idx"),
            _partial_fk_index("benefit", "ticket_benefit_idx"),
            _partial_fk_index("decision", "ticket_decision_idx"),
            _partial_fk_index("resolution_task", "ticket_resolution_task_idx"),
            _partial_fk_index("related_ticket", "ticket_related_idx"),
            _partial_fk_index("partner", "ticket_partner_idx"),
            models.Index(
                fields=["subject_type", "subject_id"],
                name="ticket_other_subject_idx",
                condition=Q(subject_type__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymous=False)
                | Q(
                    complainant_individual__isnull=True,
                    complainant_name="",
                    complainant_phone="",
                    complainant_email="",
                ),
                name="ticket_anonymous_has_no_complainant",
            ),
            models.CheckConstraint(
                condition=(
                    Q(household__isnull=True, individual__isnull=True, beneficiary__isnull=True)
                    & Q(benefit__isnull=True, decision__isnull=True)
                )
                | (
                    Q(household__isnull=False, individual__isnull=True, beneficiary__isnull=True)
                    & Q(benefit__isnull=True, decision__isnull=True)
                )
                | (
                    Q(household__isnull=True, individual__isnull=False, beneficiary__isnull=True)
                    & Q(benefit__isnull=True, decision__isnull=True)
                )
                | (
                    Q(household__isnull=True, individual__isnull=True, beneficiary__isnull=False)
                    & Q(benefit__isnull=True, decision__isnull=True)
                )
                | (
                    Q(household__isnull=True, individual__isnull=True, beneficiary__isnull=True)
                    & Q(benefit__isnull=False, decision__isnull=True)
                )
                | (
                    Q(household__isnull=True, individual__isnull=True, beneficiary__isnull=True)
                    & Q(benefit__isnull=True, decision__isnull=False)
                ),
                name="ticket_at_most_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(subject_type__isnull=True, subject_id__isnull=True)
                | (
                    Q(subject_type__isnull=False, subject_id__isnull=False)
                    & Q(household__isnull=True, individual__isnull=True, beneficiary__isnull=True)
                    & Q(benefit__isnull=True, decision__isnull=True)
                ),
                name="ticket_other_subject_alone",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reject_reason=""), name="ticket_rejected_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(reject_reason__in=["duplicate", "linked"]) | Q(related_ticket__isnull=False),
                name="ticket_duplicate_names_ticket",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["assigned", "in_progress"]) | Q(assignee__isnull=False),
                name="ticket_assigned_has_assignee",
            ),
        ]

    def __str__(self) -> str:
        return self.number or _("New ticket")

    # Which record the complaint concerns, whichever field holds it.
    SUBJECT_FIELDS = ("household", "individual", "beneficiary", "benefit", "decision")

    @property
    def subject(self) -> Any:
        for field in self.SUBJECT_FIELDS:
            if getattr(self, f"{field}_id") is not None:
                return getattr(self, field)
        return self.other_subject if self.subject_type_id else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def reopen_deadline(self) -> Any:
        if self.resolved_at is None:
            return None
        return self.resolved_at + timedelta(days=reopen_days())

    def within_reopen_window(self) -> bool:
        deadline = self.reopen_deadline()
        return deadline is not None and timezone.now() <= deadline

    # --- transitions: the services call them after checking who may (django-fsm checks only the source).

    @transition(field=status, source=[*OPEN_STATUSES], target=TicketStatus.ASSIGNED)
    def assign(self) -> None:
        self.assigned_at = timezone.now()

    @transition(field=status, source=TicketStatus.ASSIGNED, target=TicketStatus.IN_PROGRESS)
    def start(self) -> None:
        pass

    @transition(field=status, source=TicketStatus.IN_PROGRESS, target=TicketStatus.RESOLVED)
    def resolve(self) -> None:
        self.resolved_at = timezone.now()

    @transition(field=status, source=TicketStatus.RESOLVED, target=TicketStatus.CLOSED)
    def close(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[*REOPENABLE_STATUSES],
        target=RETURN_VALUE(TicketStatus.ASSIGNED, TicketStatus.RECEIVED),
        conditions=[within_reopen_window],
    )
    def reopen(self) -> str:
        """Back to its assignee, or received again when it had none."""
        self.resolved_at = self.closed_at = None
        self.overdue, self.overdue_at, self.escalation_level, self.escalated_to = False, None, 0, None
        return TicketStatus.ASSIGNED if self.assignee_id else TicketStatus.RECEIVED

    @transition(field=status, source=[*OPEN_STATUSES], target=TicketStatus.REJECTED)
    def reject(self) -> None:
        self.closed_at = timezone.now()


class EventKind(models.TextChoices):
    CREATED = "created", _("Received")
    ROUTED = "routed", _("Routed")
    ASSIGNED = "assigned", _("Assigned")
    STARTED = "started", _("Started")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    REJECTED = "rejected", _("Rejected")
    OVERDUE = "overdue", _("Overdue, escalated")
    COMMENT = "comment", _("Comment")
    ATTACHMENT = "attachment", _("Attachment added")
    APPROVAL_REQUESTED = "approval_requested", _("Approval requested")
    APPROVAL_ENDED = "approval_ended", _("Approval ended")


class TicketEvent(models.Model):
    """One step of a ticket's story: who, when, what, and their comment. Never changed once written."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("event"), max_length=24, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)
    public = models.BooleanField(
        _("public"),
        default=False,
        db_default=False,  # the SLA job inserts events in bulk, naming only its columns
        help_text=_("The complainant sees this comment on the public status page."),
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["ticket", "at", "pk"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """A file given with a ticket: checked against the attachment limits, served only after a permission
    check (`access.downloads.protected_file_response`), never by a media URL."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="grievances/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


# The API partners' model lives beside their key services; imported here so Django finds it.
from grievances.partners import GrievancePartner  # noqa: E402,F401
