"""Benefit plans in the admin: the plan page, enrolment, activation, closing, assigning officers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from guardian.admin import GuardedModelAdminMixin

from access.history import ScopedHistoryAdmin
from access.plans import plan_list, user_can_change_plan, user_can_manage_plan, user_manages_all_plans
from approvals.models import Task
from approvals.services import error_text
from programs.forms import BenefitPlanForm, EnrolmentRequestForm, ReasonForm
from programs.hooks import plan_links, plan_panels
from programs.models import BeneficiaryStatus, BenefitPlan, PlanStatus
from programs.selectors import plan_counts, plan_recent_changes
from programs.services import (
    EnrolmentSelection,
    enrolment_preview,
    enrolment_request,
    plan_activate,
    plan_close_request,
    plan_create,
    plan_update,
)
from registry.admin.custom_fields import custom_fields_page


def _report(request: HttpRequest, admin_obj: admin.ModelAdmin, exc: ValidationError) -> None:
    admin_obj.message_user(request, error_text(exc), messages.ERROR)


def _queued(request: HttpRequest, admin_obj: admin.ModelAdmin, task: Task, what: str) -> None:
    url = reverse("admin:approvals_task_change", args=[task.pk])
    if task.state == "executed":
        admin_obj.message_user(
            request,
            format_html('{} done (task <a href="{}">#{}</a>, no approval needed).', what, url, task.pk),
            messages.SUCCESS,
        )
    elif task.state == "failed":
        admin_obj.message_user(
            request,
            format_html('{} failed: {} (task <a href="{}">#{}</a>).', what, task.error, url, task.pk),
            messages.ERROR,
        )
    else:
        admin_obj.message_user(
            request,
            format_html('{} requested: task <a href="{}">#{}</a> waits for approval.', what, url, task.pk),
            messages.SUCCESS,
        )


@admin.register(BenefitPlan)
class BenefitPlanAdmin(GuardedModelAdminMixin, ScopedHistoryAdmin):
    form = BenefitPlanForm
    list_display = [
        "code",
        "name",
        "plan_type",
        "status",
        "start_date",
        "end_date",
        "max_beneficiaries",
        "institution",
    ]
    list_filter = ["status", "plan_type"]
    search_fields = ["code", "name", "institution"]
    readonly_fields = ["status", "created_at", "updated_at"]
    show_full_result_count = False
    change_form_template = "programs/benefitplan_change_form.html"
    obj_perms_manage_template = "admin/guardian/model/obj_perms_manage.html"

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return plan_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: BenefitPlan | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None:
            # Edited through the custom-fields form (Custom fields above), which checks the stored data.
            fields.append("beneficiary_schema")
        if obj is not None and obj.status != PlanStatus.DRAFT:
            fields += ["code", "plan_type"]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: BenefitPlan | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        if obj.status == PlanStatus.CLOSED:
            return False
        return user_can_change_plan(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: BenefitPlan | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BenefitPlan, form: Any, change: bool) -> None:
        try:
            if not change:
                plan_create(user=request.user, plan=obj)
                return
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            result = plan_update(
                user=request.user, plan=obj, changes=changes, reason=request.POST.get("_reason", "")
            )
        except ValidationError as exc:
            request._programs_refused = True  # type: ignore[attr-defined]
            _report(request, self, exc)
            return
        if isinstance(result, Task):
            request._programs_refused = True  # type: ignore[attr-defined]
            _queued(request, self, result, f"Changing {obj}")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if not getattr(request, "_programs_refused", False):
            super().save_related(request, form, formsets, change)

    def log_addition(self, request, obj, message):  # type: ignore[no-untyped-def]
        if obj.pk and not getattr(request, "_programs_refused", False):
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):  # type: ignore[no-untyped-def]
        if not getattr(request, "_programs_refused", False):
            return super().log_change(request, obj, message)
        return None

    def response_add(
        self, request: HttpRequest, obj: BenefitPlan, post_url_continue: str | None = None
    ) -> HttpResponse:
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: BenefitPlan) -> HttpResponse:
        if getattr(request, "_programs_refused", False):
            return HttpResponseRedirect(reverse("admin:programs_benefitplan_change", args=[obj.pk]))
        return super().response_change(request, obj)

    # --- the plan page -----------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        plan = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if plan is not None:
            context.update(self._plan_page_context(request, plan))
        return super().change_view(request, object_id, form_url, context)

    def _plan_page_context(self, request: HttpRequest, plan: BenefitPlan) -> dict[str, Any]:
        counts = plan_counts(plan=plan, user=request.user)
        changelist = reverse("admin:programs_beneficiary_changelist")
        by_status = [
            (
                status.label,
                counts.by_status[status.value],
                f"{changelist}?benefit_plan={plan.pk}&status__exact={status.value}",
            )
            for status in BeneficiaryStatus
        ]
        manages = user_can_manage_plan(request.user, plan)
        return {
            "plan": plan,
            "counts": counts,
            "by_status": by_status,
            "beneficiaries_url": f"{changelist}?benefit_plan={plan.pk}",
            "recent_changes": plan_recent_changes(plan=plan, user=request.user),
            "plan_history": plan.history.select_related("history_user").order_by("-history_date")[:5],
            # What the apps above this one keep about the plan (uploads, payments): `programs.hooks`.
            "plan_links": plan_links(plan=plan),
            "plan_panels": plan_panels(plan=plan, user=request.user),
            "can_manage": manages,
            "can_grant": user_manages_all_plans(request.user),
            "can_activate": manages and plan.status == PlanStatus.DRAFT,
            "can_close": manages and plan.status == PlanStatus.ACTIVE,
            "can_enrol": manages and plan.status != PlanStatus.CLOSED,
        }

    def get_urls(self):  # type: ignore[no-untyped-def]
        urls = [
            path(
                "<int:plan_id>/enrol/",
                self.admin_site.admin_view(self.enrol_view),
                name="programs_benefitplan_enrol",
            ),
            path(
                "<int:plan_id>/activate/",
                self.admin_site.admin_view(self.activate_view),
                name="programs_benefitplan_activate",
            ),
            path(
                "<int:plan_id>/close/",
                self.admin_site.admin_view(self.close_view),
                name="programs_benefitplan_close",
            ),
            path(
                "<int:plan_id>/fields/",
                self.admin_site.admin_view(self.fields_view),
                name="programs_benefitplan_fields",
            ),
        ]
        return urls + super().get_urls()

    def _plan_or_404(self, request: HttpRequest, plan_id: int) -> BenefitPlan:
        plan = self.get_queryset(request).filter(pk=plan_id).first()
        if plan is None:
            raise Http404("No such benefit plan among yours.")
        return plan

    def fields_view(self, request: HttpRequest, plan_id: int) -> HttpResponse:
        """The plan's beneficiary data fields as a form; on an active plan saving requests approval."""
        plan = self._plan_or_404(request, plan_id)
        editable = self.has_change_permission(request, plan)
        if request.method == "POST" and not editable:
            raise PermissionDenied

        def save(schema: dict[str, Any]) -> str:
            result = plan_update(
                user=request.user,
                plan=plan,
                changes={"beneficiary_schema": schema},
                reason=_("Change of the custom fields"),
            )
            if isinstance(result, Task):
                _queued(request, self, result, _("Changing the custom fields of %(plan)s") % {"plan": plan})
                return ""
            return _("The custom fields of %(plan)s are saved.") % {"plan": plan}

        done = reverse("admin:programs_benefitplan_change", args=[plan.pk])
        return custom_fields_page(
            request,
            context={
                **self.admin_site.each_context(request),
                "title": _("Beneficiary data fields of %(plan)s") % {"plan": plan},
                "owner": plan,
                "opts": self.model._meta,
                "approval_note": _("The plan is active: the change is queued for approval.")
                if plan.status == PlanStatus.ACTIVE
                else "",
            },
            schema=plan.beneficiary_schema or {},
            records=plan.beneficiaries.all(),
            save=save,
            done_url=done,
            editable=editable,
        )

    def activate_view(self, request: HttpRequest, plan_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        plan = self._plan_or_404(request, plan_id)
        try:
            plan_activate(user=request.user, plan=plan)
        except ValidationError as exc:
            _report(request, self, exc)
        else:
            self.message_user(
                request, f"{plan} is active: officers can enrol beneficiaries.", messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:programs_benefitplan_change", args=[plan.pk]))

    def close_view(self, request: HttpRequest, plan_id: int) -> HttpResponse:
        plan = self._plan_or_404(request, plan_id)
        if not user_can_manage_plan(request.user, plan):
            raise PermissionDenied("Only the plan's officers and administrators close it.")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                task = plan_close_request(user=request.user, plan=plan, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                _report(request, self, exc)
            else:
                _queued(request, self, task, f"Closing {plan}")
            return HttpResponseRedirect(reverse("admin:programs_benefitplan_change", args=[plan.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "plan": plan,
            "form": form,
            "title": f"Close {plan}",
            "active": plan_counts(plan=plan).by_status[BeneficiaryStatus.ACTIVE],
        }
        return TemplateResponse(request, "programs/plan_close.html", context)

    def enrol_view(self, request: HttpRequest, plan_id: int) -> HttpResponse:
        """Pick people or households with the advanced-search filters and an expression; preview; request."""
        from registry.filters import household_filterset, individual_filterset

        plan = self._plan_or_404(request, plan_id)
        if request.method == "POST":
            form = EnrolmentRequestForm(request.POST)
            if form.is_valid():
                selection = EnrolmentSelection(
                    filters=form.cleaned_data["filters"], expression=form.cleaned_data["expression"]
                )
                try:
                    task = enrolment_request(
                        user=request.user,
                        plan=plan,
                        selection=selection,
                        status=form.cleaned_data["status"],
                        data=form.cleaned_data["data"],
                        reason=form.cleaned_data["reason"],
                    )
                except ValidationError as exc:
                    _report(request, self, exc)
                else:
                    _queued(request, self, task, f"Enrolment into {plan}")
                    return HttpResponseRedirect(reverse("admin:programs_benefitplan_change", args=[plan.pk]))
            else:
                self.message_user(
                    request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), messages.ERROR
                )
            query = request.POST.get("filters", "")
            expression = request.POST.get("expression", "")
            from django.http import QueryDict

            filter_data = QueryDict(query, mutable=True)
        else:
            filter_data = request.GET.copy()
            expression = filter_data.pop("expression", [""])[-1]
            filter_data.pop("preview", None)
            query = filter_data.urlencode()
        make = household_filterset if plan.is_household else individual_filterset
        filterset = make(filter_data, user=request.user)
        preview = error = None
        previewing = request.method == "POST" or "preview" in request.GET
        if previewing:
            try:
                preview = enrolment_preview(
                    user=request.user,
                    plan=plan,
                    selection=EnrolmentSelection(filters=query, expression=expression),
                )
            except ValidationError as exc:
                error = error_text(exc)
        request_form = EnrolmentRequestForm(initial={"filters": query, "expression": expression})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "plan": plan,
            "title": f"Enrol into {plan}",
            "filterset": filterset,
            "expression": expression,
            "preview": preview,
            "error": error,
            "request_form": request_form,
            "can_manage": user_can_manage_plan(request.user, plan),
            "noun": "households" if plan.is_household else "individuals",
            "media": self.media + filterset.form.media,
        }
        return TemplateResponse(request, "programs/plan_enrol.html", context)

    # --- officers: only administrators grant object permissions ----------------------------------

    def obj_perms_manage_view(self, request: HttpRequest, object_pk: str) -> HttpResponse:
        if not user_manages_all_plans(request.user):
            raise Http404("Only administrators assign officers to plans.")
        return super().obj_perms_manage_view(request, object_pk)

    def obj_perms_manage_user_view(self, request: HttpRequest, object_pk: str, user_id: str) -> HttpResponse:
        if not user_manages_all_plans(request.user):
            raise Http404("Only administrators assign officers to plans.")
        return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(
        self, request: HttpRequest, object_pk: str, group_id: str
    ) -> HttpResponse:
        if not user_manages_all_plans(request.user):
            raise Http404("Only administrators assign officers to plans.")
        return super().obj_perms_manage_group_view(request, object_pk, group_id)
