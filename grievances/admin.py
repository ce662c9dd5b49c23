"""Grievances in the admin: categories, teams, the ticket queues (mine, my team's), the ticket page with
its steps, history and attachments, bulk assign, and the CSV export. Every write calls a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.downloads import protected_file_response
from access.history import ScopedHistoryAdmin
from approvals.services import error_text
from files.spreadsheets import csv_stream
from grievances.models import (
    OPEN_STATUSES,
    Category,
    RejectReason,
    Team,
    Ticket,
    TicketStatus,
)
from grievances.resolutions import RESOLUTION_CHOICES, ticket_resolution_request
from grievances.selectors import (
    ticket_attachments,
    ticket_events,
    ticket_list,
    user_supervises,
    user_team_ids,
)
from grievances.services import (
    ticket_assign,
    ticket_attach,
    ticket_close,
    ticket_comment,
    ticket_create,
    ticket_reject,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
    tickets_assign_bulk,
)
from registry.admin.editing import EstimatedCountPaginator
from registry.models import Location
from registry.selectors import location_list

BULK_ASSIGN_LIMIT = 500
EXPORT_LIMIT = 100_000


@admin.register(Team)
class TeamAdmin(ScopedHistoryAdmin):
    list_display = ["name", "supervisor_role"]
    list_select_related = ["supervisor_role"]
    search_fields = ["name__exact"]  # as written: the unique index serves it
    raw_id_fields = ["members", "locations"]
    filter_horizontal = ["categories"]


@admin.register(Category)
class CategoryAdmin(ScopedHistoryAdmin):
    list_display = ["name", "parent", "code", "default_priority", "sla_days", "team", "sensitive", "active"]
    list_filter = ["sensitive", "active"]
    list_select_related = ["parent", "team"]
    search_fields = ["code__exact"]  # the unique index serves it
    raw_id_fields = ["parent", "team"]


# --- the ticket list -------------------------------------------------------------------------------


class QueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("mine", _("My tickets")), ("team", _("My team's tickets"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "team":
            return queryset.filter(team__in=user_team_ids(request.user))
        return queryset


class OpenFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open (any)")), *TicketStatus.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "open":
            return queryset.filter(status__in=[str(s) for s in OPEN_STATUSES])
        if self.value() in TicketStatus.values:
            return queryset.filter(status=self.value())
        return queryset


class CategoryFilter(admin.SimpleListFilter):
    """Choices from the category table (small), never a DISTINCT over tickets."""

    title = gettext_lazy("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(c.pk), str(c)) for c in Category.objects.select_related("parent")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if not self.value():
            return queryset
        value = self.value()
        ids = Category.objects.filter(Q(pk=value) | Q(parent_id=value)).values_list("pk", flat=True)
        return queryset.filter(category__in=list(ids))


class TeamFilter(admin.SimpleListFilter):
    title = gettext_lazy("team")
    parameter_name = "team"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Team.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return queryset.filter(team_id=self.value()) if self.value() else queryset


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return queryset.filter(overdue=True) if self.value() == "yes" else queryset


class LocationFilter(admin.SimpleListFilter):
    """The user's locations down two levels; a location keeps everything under it."""

    title = gettext_lazy("location")
    parameter_name = "location"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        locations = location_list(user=request.user).filter(depth__lte=2).only("pk", "name", "depth")
        return [(str(loc.pk), f"{'— ' * loc.depth}{loc.name}") for loc in locations]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if not self.value():
            return queryset
        path_prefix = (
            location_list(user=request.user).filter(pk=self.value()).values_list("path", flat=True).first()
        )
        if path_prefix is None:
            return queryset.none()
        # The place's ids first (one query on the location tree's path index), then the tickets by their
        # location index: a district is one id, read in key order; a join on path prefixes was not.
        ids = list(Location.objects.filter(path__startswith=path_prefix).values_list("pk", flat=True))
        return queryset.filter(location_id__in=ids)


class TicketAddForm(forms.ModelForm):
    attachment = forms.FileField(required=False, label=gettext_lazy("Attachment"))

    class Meta:
        model = Ticket
        fields = [
            "channel",
            "category",
            "description",
            "complainant_individual",
            "complainant_name",
            "complainant_phone",
            "anonymous",
            "household",
            "individual",
            "beneficiary",
            "benefit",
            "decision",
            "location",
            "priority",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priority"].required = False
        self.fields["category"].queryset = Category.objects.filter(active=True).select_related("parent")

    def _post_clean(self) -> None:
        pass  # the service validates and builds the ticket (numbers, routing, scope)


class _Refused(Exception):
    """The ticket service refused a new ticket filed in the admin (carries its error)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


SUBJECT_FIELDS = ("household", "individual", "beneficiary", "benefit", "decision")
STEPS = ("assign", "start", "resolve", "close", "reopen", "reject", "comment", "attach", "request")


def _assignable_users(ticket: Ticket) -> QuerySet[Any]:
    members = get_user_model().objects.filter(is_active=True)
    if ticket.team_id:
        members = members.filter(grievance_teams=ticket.team_id)
    return members.order_by("username")[:200]


@admin.register(Ticket)
class TicketAdmin(ScopedHistoryAdmin):
    list_display = [
        "number",
        "status",
        "category",
        "priority",
        "team",
        "assignee",
        "location",
        "created_at",
        "due_at",
        "overdue",
    ]
    list_filter = [QueueFilter, OpenFilter, CategoryFilter, TeamFilter, OverdueFilter, LocationFilter]
    list_select_related = ["category", "category__parent", "team", "assignee", "location"]
    raw_id_fields = [
        "complainant_individual",
        "household",
        "individual",
        "beneficiary",
        "benefit",
        "decision",
        "location",
    ]
    search_fields = ["number"]  # exact: see get_search_results
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # the planner's estimate: a filtered count would scan the table
    list_per_page = 50
    sortable_by = ["number", "created_at"]
    actions = ["bulk_assign"]
    change_form_template = "grievances/ticket_change_form.html"
    readonly_change = [
        "number",
        "status",
        "channel",
        "category",
        "priority",
        "description",
        "complainant_individual",
        "complainant_name",
        "complainant_phone",
        "anonymous",
        "subject_shown",
        "location",
        "team",
        "assignee",
        "created_at",
        "due_at",
        "overdue",
        "escalated_to",
        "resolution",
        "reject_reason",
        "related_ticket",
        "resolution_task",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return ticket_list(user=request.user).select_related(*self.list_select_related)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        """A ticket number or a tracking code, exactly (each a unique index)."""
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(number=term) | queryset.filter(tracking_code=term), False

    def get_form(
        self, request: HttpRequest, obj: Ticket | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = TicketAddForm
            kwargs["fields"] = [*TicketAddForm.Meta.fields, "attachment"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        if obj is None:
            return [*TicketAddForm.Meta.fields, "attachment"]
        return self.readonly_change

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        return self.readonly_change if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False  # tickets are the record of a complaint: rejected, never deleted

    @admin.display(description=gettext_lazy("about"))
    def subject_shown(self, obj: Ticket) -> str:
        subject = obj.subject
        return str(subject) if subject is not None else "—"

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        """A new ticket is filed by `ticket_create`; an existing one changes only through its steps."""
        if change:
            return
        data = form.cleaned_data
        subject = next((data[name] for name in SUBJECT_FIELDS if data.get(name)), None)
        chosen = [name for name in SUBJECT_FIELDS if data.get(name)]
        if len(chosen) > 1:
            raise _Refused(ValidationError({"household": _("A ticket concerns one record at most.")}))
        attachment = data.get("attachment")
        try:
            created = self._create(request, data, subject, attachment)
        except (ValidationError, PermissionDenied) as exc:
            raise _Refused(exc) from exc
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "status"})

    def _create(self, request: HttpRequest, data: dict[str, Any], subject: Any, attachment: Any) -> Ticket:
        return ticket_create(
            user=request.user,
            channel=data["channel"],
            category=data["category"],
            description=data["description"],
            complainant_individual=data.get("complainant_individual"),
            complainant_name=data.get("complainant_name", ""),
            complainant_phone=data.get("complainant_phone", ""),
            anonymous=data.get("anonymous", False),
            subject=subject,
            location=data.get("location"),
            priority=data.get("priority") or None,
            attachments=[attachment] if attachment else (),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass

    def _changeform_view(
        self, request: HttpRequest, object_id: Any, form_url: str, extra_context: Any
    ) -> Any:
        try:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:  # the service refused the new ticket: nothing was stored
            return self._add_refused(request, form_url, extra_context, refused.error)

    def _add_refused(
        self, request: HttpRequest, form_url: str, extra_context: Any, error: Exception
    ) -> HttpResponse:
        """The add page again, bound to what the user typed, each refusal shown on its field (those naming
        no field of the form above it), as Django shows a form's own errors."""
        form = self.get_form(request, None)(request.POST, request.FILES)
        form.is_valid()
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            chosen = [name for name in SUBJECT_FIELDS if form.cleaned_data.get(name)]
            for field, errors in error.message_dict.items():
                if field == "subject" and chosen:
                    field = chosen[0]  # the service names the record it refuses "subject"
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error_text(error) if isinstance(error, ValidationError) else str(error))
        admin_form = helpers.AdminForm(
            form, list(self.get_fieldsets(request, None)), {}, self.get_readonly_fields(request, None), self
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Add %s") % self.opts.verbose_name,
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, change=False, form_url=form_url)

    # --- the ticket page ----------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        ticket = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        context = dict(extra_context or {})
        if ticket is not None:
            user = request.user
            can_change = user.has_perm("grievances.change_ticket")
            handler = ticket.assignee_id == user.pk or user_supervises(user=user, team=ticket.team)
            context.update(
                events=ticket_events(ticket=ticket),
                attachments=ticket_attachments(ticket=ticket),
                steps={
                    "assign": can_change and ticket.status in OPEN_STATUSES,
                    "start": can_change and handler and ticket.status == TicketStatus.ASSIGNED,
                    "resolve": can_change
                    and handler
                    and ticket.status == TicketStatus.IN_PROGRESS
                    and ticket.resolution_task_id is None,
                    "request": can_change
                    and handler
                    and ticket.status == TicketStatus.IN_PROGRESS
                    and ticket.resolution_task_id is None,
                    "close": can_change and ticket.status == TicketStatus.RESOLVED,
                    "reopen": can_change
                    and ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
                    and ticket.within_reopen_window(),
                    "reject": can_change and ticket.status in OPEN_STATUSES,
                    "comment": can_change,
                    "attach": can_change,
                },
                assignable=_assignable_users(ticket) if can_change else [],
                reject_reasons=RejectReason.choices,
                resolution_actions=RESOLUTION_CHOICES,
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view
        return [
            path("<int:ticket_id>/do/<str:step>/", view(self.step_view), name="grievances_ticket_step"),
            path(
                "<int:ticket_id>/attachments/<int:attachment_id>/",
                view(self.attachment_view),
                name="grievances_ticket_attachment",
            ),
            path("export.csv", view(self.export_view), name="grievances_ticket_export"),
            *super().get_urls(),
        ]

    def _ticket_or_404(self, request: HttpRequest, ticket_id: int) -> Ticket:
        ticket = self.get_queryset(request).filter(pk=ticket_id).first()
        if ticket is None:
            raise Http404(_("No such ticket among yours."))
        return ticket

    def _related_ticket(self, request: HttpRequest, number: str) -> Ticket | None:
        number = (number or "").strip().upper()
        if not number:
            return None
        found = self.get_queryset(request).filter(number=number).first()
        if found is None:
            raise ValidationError(
                {"related_ticket": _("No ticket %(number)s among yours.") % {"number": number}}
            )
        return found

    def step_view(self, request: HttpRequest, ticket_id: int, step: str) -> HttpResponse:
        """One step of the ticket's life, POST only; the service re-checks permission and state."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if step not in STEPS:
            raise Http404(_("No such step."))
        ticket = self._ticket_or_404(request, ticket_id)
        post, user = request.POST, request.user
        comment = post.get("comment", "")
        try:
            if step == "assign":
                assignee = get_user_model().objects.filter(pk=post.get("assignee") or 0).first()
                ticket_assign(ticket=ticket, user=user, assignee=assignee, comment=comment)
            elif step == "start":
                ticket_start(ticket=ticket, user=user, comment=comment)
            elif step == "resolve":
                ticket_resolve(
                    ticket=ticket, user=user, comment=comment, resolution=post.get("resolution", "")
                )
            elif step == "close":
                ticket_close(ticket=ticket, user=user, comment=comment)
            elif step == "reopen":
                ticket_reopen(ticket=ticket, user=user, comment=comment)
            elif step == "reject":
                ticket_reject(
                    ticket=ticket,
                    user=user,
                    comment=comment,
                    reason=post.get("reason", ""),
                    related_ticket=self._related_ticket(request, post.get("related_ticket", "")),
                )
            elif step == "comment":
                ticket_comment(ticket=ticket, user=user, comment=comment, public=post.get("public") == "on")
            elif step == "attach":
                ticket_attach(ticket=ticket, user=user, attachments=request.FILES.getlist("attachment"))
            elif step == "request":
                field, value = post.get("field", "").strip(), post.get("value", "").strip()
                ticket_resolution_request(
                    ticket=ticket,
                    user=user,
                    comment=comment,
                    action=post.get("action", ""),
                    fields={field: value} if field else None,
                    transition=post.get("transition") or None,
                )
        except (ValidationError, PermissionDenied) as exc:
            text = error_text(exc) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, text, messages.ERROR)
        else:
            self.message_user(
                request, _("Ticket %(number)s: done.") % {"number": ticket.number}, messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:grievances_ticket_change", args=[ticket.pk]))

    def attachment_view(self, request: HttpRequest, ticket_id: int, attachment_id: int) -> HttpResponse:
        ticket = self.get_queryset(request).filter(pk=ticket_id).first()
        attachment = ticket.attachments.filter(pk=attachment_id).first() if ticket is not None else None
        return protected_file_response(
            request,
            attachment.file if attachment is not None else None,
            allowed=attachment is not None,
            filename=attachment.name if attachment is not None else None,
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The list as filtered, as CSV through the safe writer; sensitive cases never leave in bulk."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        rows = (
            changelist.get_queryset(request)
            .filter(sensitive=False)
            .order_by("-pk")
            .values_list(
                "number",
                "status",
                "channel",
                "category__name",
                "priority",
                "team__name",
                "assignee__username",
                "location__code",
                "created_at",
                "due_at",
                "overdue",
                "resolved_at",
            )[:EXPORT_LIMIT]
        )
        headers = [
            _("number"),
            _("status"),
            _("channel"),
            _("category"),
            _("priority"),
            _("team"),
            _("assignee"),
            _("location"),
            _("received at"),
            _("due"),
            _("overdue"),
            _("resolved at"),
        ]
        response = StreamingHttpResponse(csv_stream(headers, rows.iterator()), content_type="text/csv")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.csv"'
        return response

    # --- bulk assign: a confirmation page, the permission re-checked, each ticket through the service.

    @admin.action(description=gettext_lazy("Assign selected tickets"), permissions=["change"])
    def bulk_assign(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        tickets = list(queryset.filter(status__in=[str(s) for s in OPEN_STATUSES])[: BULK_ASSIGN_LIMIT + 1])
        if len(tickets) > BULK_ASSIGN_LIMIT:
            self.message_user(
                request,
                _("At most %(n)s tickets at once: narrow the list.") % {"n": BULK_ASSIGN_LIMIT},
                messages.ERROR,
            )
            return None
        if not tickets:
            self.message_user(request, _("None of the selected tickets is open."), messages.WARNING)
            return None
        users = (
            get_user_model()
            .objects.filter(Q(grievance_teams__in=user_team_ids(request.user)) | Q(pk=request.user.pk))
            .filter(is_active=True)
            .distinct()
        )
        if request.POST.get("post") == "yes":
            assignee = users.filter(pk=request.POST.get("assignee") or 0).first()
            try:
                count = tickets_assign_bulk(
                    tickets=tickets,
                    user=request.user,
                    assignee=assignee,
                    comment=request.POST.get("comment", ""),
                )
            except (ValidationError, PermissionDenied) as exc:
                text = error_text(exc) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, _("Nothing was assigned: %(why)s") % {"why": text}, messages.ERROR)
                return None
            self.message_user(
                request,
                _("%(n)s tickets assigned to %(user)s.") % {"n": count, "user": assignee},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Assign tickets"),
            "opts": self.model._meta,
            "tickets": tickets,
            "users": users.order_by("username")[:200],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "grievances/bulk_assign.html", context)


# The API partners' pages (their keys) live in their own module.
from grievances import admin_partners  # noqa: E402,F401
