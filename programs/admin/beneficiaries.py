"""Beneficiaries in the admin: scoped list and filters, page with status buttons and members, bulk changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.functions import Upper
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
from django.utils.translation import gettext as _

from access.history import ScopedHistoryAdmin
from access.plans import plan_list, user_can_manage_plan
from approvals.models import Task
from approvals.services import error_text
from programs.admin.plans import _queued, _report
from programs.forms import BeneficiaryDataForm, ReasonForm, StatusChangeForm
from programs.models import (
    STATUS_TRANSITIONS,
    TRANSITION_LABELS,
    Beneficiary,
    BeneficiaryStatusChange,
    PlanStatus,
)
from programs.selectors import EXPORT_HEADERS, beneficiary_export_chunks, beneficiary_list
from programs.services import beneficiary_data_request, beneficiary_status_request
from registry.exports import csv_lines
from registry.models import HouseholdMember, Individual, Sex
from registry.selectors import location_list

NOTHING_REQUESTED = object()


class PlanFilter(admin.SimpleListFilter):
    title = "benefit plan"
    parameter_name = "benefit_plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(plan.pk), str(plan)) for plan in plan_list(user=request.user).only("pk", "code", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(benefit_plan_id=self.value()) if self.value() else queryset


class LocationFilter(admin.SimpleListFilter):
    """The user's locations down two levels below their top; a location keeps everything under it."""

    title = "location"
    parameter_name = "location"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        locations = location_list(user=request.user).filter(depth__lte=2).only("pk", "name", "depth")
        return [(str(loc.pk), f"{'— ' * loc.depth}{loc.name}") for loc in locations]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        path_prefix = (
            location_list(user=request.user).filter(pk=self.value()).values_list("path", flat=True).first()
        )
        if path_prefix is None:
            return queryset.none()
        return queryset.filter(location__path__startswith=path_prefix)


class SexFilter(admin.SimpleListFilter):
    """The individual's sex (individual plans) or the household head's (household plans)."""

    title = "sex"
    parameter_name = "sex"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Sex.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        head = HouseholdMember.objects.filter(
            role="head", end_date__isnull=True, individual__sex=self.value()
        )
        return queryset.filter(Q(individual__sex=self.value()) | Q(household__in=head.values("household_id")))


AGE_BANDS = {"0-5": (0, 5), "6-17": (6, 17), "18-59": (18, 59), "60+": (60, None)}


def _years_ago(years: int, today: date) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


class AgeBandFilter(admin.SimpleListFilter):
    """Age of the individual (individual plans) or of the household head (household plans)."""

    title = "age band"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(band, band) for band in AGE_BANDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() not in AGE_BANDS:
            return queryset
        low, high = AGE_BANDS[self.value()]
        today = date.today()
        born = {"birth_date__lte": _years_ago(low, today)}
        if high is not None:
            born["birth_date__gt"] = _years_ago(high + 1, today)
        heads = HouseholdMember.objects.filter(
            role="head", end_date__isnull=True, **{f"individual__{k}": v for k, v in born.items()}
        )
        return queryset.filter(
            Q(**{f"individual__{k}": v for k, v in born.items()})
            | Q(household__in=heads.values("household_id"))
        )


class StatusChangeInline(admin.TabularInline):
    model = BeneficiaryStatusChange
    fields = ["changed_at", "from_status", "to_status", "reason", "requested_by", "task"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "status changes"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("requested_by", "task")


def _request_action(transition: str):  # type: ignore[no-untyped-def]
    def action(modeladmin: BeneficiaryAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return modeladmin.request_status_change(request, queryset, transition)

    action.__name__ = f"request_{transition}"
    action.short_description = f"{TRANSITION_LABELS[transition]} selected beneficiaries (asks for approval)"  # type: ignore[attr-defined]
    action.allowed_permissions = ("change",)  # type: ignore[attr-defined]
    return action


@admin.register(Beneficiary)
class BeneficiaryAdmin(ScopedHistoryAdmin):
    list_display = ["recipient", "benefit_plan", "status", "location", "enrolled_at", "status_changed_at"]
    list_filter = [PlanFilter, "status", LocationFilter, SexFilter, AgeBandFilter]
    list_select_related = ["benefit_plan", "individual", "household", "location"]
    raw_id_fields = ["individual", "household", "location", "benefit_plan"]
    search_fields = [
        "household__code",
        "individual__family_name",
    ]  # shows the box; get_search_results searches
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "benefit_plan",
        "individual",
        "household",
        "location",
        "status",
        "status_reason",
        "status_changed_at",
        "enrolled_at",
        "enrolment_task",
        "data",
    ]
    readonly_fields = [
        "benefit_plan",
        "individual",
        "household",
        "location",
        "status",
        "status_reason",
        "status_changed_at",
        "enrolled_at",
        "enrolment_task",
    ]
    form = BeneficiaryDataForm
    inlines = [StatusChangeInline]
    change_form_template = "programs/beneficiary_change_form.html"
    change_list_template = "programs/beneficiary_change_list.html"
    actions = [_request_action(name) for name in STATUS_TRANSITIONS]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Beneficiary], search_term: str
    ) -> tuple[QuerySet[Beneficiary], bool]:
        """A code (has a digit): that household, exactly; words: people whose family name begins so. Each is
        one indexed join: an OR of both would read every beneficiary."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if any(char.isdigit() for char in term):
            return queryset.filter(household__code__in={term, term.upper()}), False
        people = Individual.objects.alias(family_upper=Upper("family_name"))
        for word in term.upper().split():
            people = people.filter(family_upper__startswith=word)
        return queryset.filter(individual__in=people), False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Beneficiary]:
        return beneficiary_list(user=request.user).select_related(
            "benefit_plan", "individual", "household", "location"
        )

    @admin.display(description="Beneficiary", ordering="pk")
    def recipient(self, obj: Beneficiary) -> str:
        return str(obj.household) if obj.household_id else str(obj.individual)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # beneficiaries come in through enrolment

    def has_delete_permission(self, request: HttpRequest, obj: Beneficiary | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Beneficiary | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        return obj.benefit_plan.status != PlanStatus.CLOSED and user_can_manage_plan(
            request.user, obj.benefit_plan
        )

    def save_model(self, request: HttpRequest, obj: Beneficiary, form: Any, change: bool) -> None:
        """Never a direct save: a change of the plan data is requested (`programs.beneficiary_data`)."""
        if "data" not in form.changed_data:
            request._programs_data = NOTHING_REQUESTED  # type: ignore[attr-defined]
            return
        try:
            task = beneficiary_data_request(
                user=request.user, beneficiary=obj, data=form.cleaned_data["data"]
            )
        except ValidationError as exc:
            request._programs_data = exc  # type: ignore[attr-defined]
        else:
            request._programs_data = task or NOTHING_REQUESTED  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing else on the page is written from the form (status changes have their own buttons)."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        task = getattr(request, "_programs_data", None)
        if not isinstance(task, Task):
            return None
        if task.state != "executed":
            message = [{"changed": {"fields": [f"data change requested: task #{task.pk}"]}}]
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: Beneficiary) -> HttpResponse:
        outcome = getattr(request, "_programs_data", None)
        if isinstance(outcome, ValidationError):
            _report(request, self, outcome)
        elif isinstance(outcome, Task):
            _queued(request, self, outcome, _("The change of %(who)s's plan data") % {"who": obj})
        else:
            self.message_user(request, _("Nothing was changed."), messages.INFO)
        return HttpResponseRedirect(reverse("admin:programs_beneficiary_change", args=[obj.pk]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        beneficiary = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if beneficiary is not None:
            members = []
            if beneficiary.household_id:
                members = list(
                    HouseholdMember.objects.filter(
                        household_id=beneficiary.household_id, end_date__isnull=True
                    )
                    .select_related("individual")
                    .order_by("start_date", "pk")
                )
            available = [
                (name, TRANSITION_LABELS[name])
                for name, (sources, _) in STATUS_TRANSITIONS.items()
                if beneficiary.status in sources
            ]
            context.update(
                {
                    "beneficiary": beneficiary,
                    "household_members": members,
                    "transitions": available if self.has_change_permission(request, beneficiary) else [],
                }
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):  # type: ignore[no-untyped-def]
        urls = [
            path(
                "export.csv", self.admin_site.admin_view(self.export_view), name="programs_beneficiary_export"
            ),
            path(
                "<int:beneficiary_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="programs_beneficiary_status",
            ),
        ]
        return urls + super().get_urls()

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The filtered list as CSV, streamed: the same scope and filters as the list on screen."""
        if not self.has_view_permission(request):
            raise Http404
        queryset = self.get_changelist_instance(request).get_queryset(request)
        response = StreamingHttpResponse(
            csv_lines(EXPORT_HEADERS, beneficiary_export_chunks(queryset)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="beneficiaries-{date.today():%Y%m%d}.csv"'
        return response

    def status_view(self, request: HttpRequest, beneficiary_id: int) -> HttpResponse:
        """POST a transition and its reason from the beneficiary's page: queues it for approval."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        beneficiary = self.get_queryset(request).filter(pk=beneficiary_id).first()
        if beneficiary is None:
            raise Http404("No such beneficiary among yours.")
        back = HttpResponseRedirect(reverse("admin:programs_beneficiary_change", args=[beneficiary.pk]))
        form = StatusChangeForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request, "Choose a status change and say why (a reason is required).", messages.ERROR
            )
            return back
        transition = form.cleaned_data["transition"]
        try:
            task = beneficiary_status_request(
                user=request.user,
                plan=beneficiary.benefit_plan,
                transition=transition,
                reason=form.cleaned_data["reason"],
                beneficiary=beneficiary,
            )
        except ValidationError as exc:
            _report(request, self, exc)
        else:
            _queued(request, self, task, f"{TRANSITION_LABELS[transition]} {beneficiary}")
        return back

    def request_status_change(
        self, request: HttpRequest, queryset: QuerySet[Beneficiary], transition: str
    ) -> HttpResponse | None:
        """Bulk action: a confirmation page with the count and a reason, then one approval task."""
        plan_ids = list(queryset.order_by().values_list("benefit_plan_id", flat=True).distinct()[:2])
        if len(plan_ids) != 1:
            self.message_user(
                request,
                "Filter the list by one benefit plan first: a status change asks approval per plan.",
                messages.ERROR,
            )
            return None
        plan = plan_list(user=request.user).filter(pk=plan_ids[0]).first()
        if plan is None:
            raise Http404
        form = ReasonForm(request.POST if request.POST.get("post") else None)
        if request.POST.get("post") and form.is_valid():
            ids = list(queryset.values_list("pk", flat=True))
            try:
                task = beneficiary_status_request(
                    user=request.user,
                    plan=plan,
                    transition=transition,
                    reason=form.cleaned_data["reason"],
                    ids=ids,
                )
            except ValidationError as exc:
                _report(request, self, exc)
            else:
                _queued(request, self, task, f"{TRANSITION_LABELS[transition]} of {len(ids):,} beneficiaries")
            return None
        count = queryset.count()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{TRANSITION_LABELS[transition]} {count:,} beneficiaries of {plan}",
            "plan": plan,
            "transition": transition,
            "transition_label": TRANSITION_LABELS[transition],
            "count": count,
            "sample": queryset.select_related("household", "individual")[:20],
            "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)]
            if not request.POST.get("select_across") == "1"
            else [],
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": f"request_{transition}",
            "form": form,
            "errors": error_text(ValidationError(list(form.errors.get("reason", [])))) if form.errors else "",
        }
        return TemplateResponse(request, "programs/status_change_confirmation.html", context)


@admin.register(BeneficiaryStatusChange)
class BeneficiaryStatusChangeAdmin(admin.ModelAdmin):
    list_display = [
        "changed_at",
        "beneficiary",
        "benefit_plan",
        "from_status",
        "to_status",
        "reason",
        "requested_by",
        "task",
    ]
    list_filter = ["to_status"]
    list_select_related = [
        "beneficiary__household",
        "beneficiary__individual",
        "beneficiary__benefit_plan",
        "benefit_plan",
        "requested_by",
        "task",
    ]
    raw_id_fields = ["beneficiary", "benefit_plan", "task", "requested_by"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BeneficiaryStatusChange]:
        visible = beneficiary_list(user=request.user)
        return super().get_queryset(request).filter(beneficiary__in=visible.values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
