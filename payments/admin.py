"""Payments in the admin: payment plans and their preview, cycles, providers and keys, payrolls, lines."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from access.history import ScopedHistoryAdmin
from approvals.models import Task
from approvals.services import error_text
from payments.events import benefit_story
from payments.exports import payroll_csv_lines, payroll_xlsx
from payments.models import (
    Benefit,
    PaymentCycle,
    PaymentPlan,
    PaymentPoint,
    Payroll,
    PayrollStatus,
    ReconciliationBatch,
)
from payments.reconciliation import MAX_RESULT_FILE_BYTES, payroll_results_record
from payments.selectors import (
    benefit_list,
    payment_plan_list,
    payroll_export_refusal,
    payroll_figures,
    payroll_list,
    payroll_results_refusal,
    reconciliation_batch_list,
)
from payments.services import (
    benefit_release_request,
    payment_plan_preview,
    payment_point_key_rotate,
    payment_points_usable,
    payroll_cancel,
    payroll_carry_over,
    payroll_close,
    payroll_create,
    payroll_send,
    payroll_submit,
    payroll_sync_decision,
)
from programs.selectors import plan_list


def _report(request: HttpRequest, admin_obj: admin.ModelAdmin, exc: ValidationError) -> None:
    admin_obj.message_user(request, error_text(exc), messages.ERROR)


def _refused(request: HttpRequest, admin_obj: admin.ModelAdmin, message: str) -> HttpResponse:
    """403 with the reason, on an admin page."""
    context = {
        **admin_obj.admin_site.each_context(request),
        "opts": admin_obj.opts,
        "title": _("Refused"),
        "message": message,
    }
    return TemplateResponse(request, "payments/refused.html", context, status=403)


def _queued(request: HttpRequest, admin_obj: admin.ModelAdmin, task: Task, what: str) -> None:
    url = reverse("admin:approvals_task_change", args=[task.pk])
    level = messages.ERROR if task.state == "failed" else messages.SUCCESS
    admin_obj.message_user(
        request,
        format_html(
            '{}: task <a href="{}">#{}</a> is {}.', what, url, task.pk, task.get_state_display().lower()
        ),
        level,
    )


@admin.register(PaymentCycle)
class PaymentCycleAdmin(ScopedHistoryAdmin):
    list_display = ("code", "name", "start_date", "end_date")
    search_fields = ("code", "name")


@admin.register(PaymentPoint)
class PaymentPointAdmin(ScopedHistoryAdmin):
    list_display = ("name", "point_type", "is_active", "api_key_prefix")
    list_filter = ("point_type", "is_active")
    search_fields = ("name",)
    raw_id_fields = ("locations",)
    readonly_fields = ("api_key",)

    @admin.display(description="API key")
    def api_key(self, obj: PaymentPoint) -> str:
        if obj.pk is None:
            return "Save the payment point first."
        url = reverse("admin:payments_paymentpoint_key", args=[obj.pk])
        current = f"starts with {obj.api_key_prefix}" if obj.api_key_prefix else "none yet"
        return format_html('{} · <a href="{}" id="payment-point-key-link">Make a new key</a>', current, url)

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:point_id>/key/",
                self.admin_site.admin_view(self.key_view),
                name="payments_paymentpoint_key",
            ),
            *super().get_urls(),
        ]

    def key_view(self, request: HttpRequest, point_id: int) -> HttpResponse:
        """A new key, shown once on this page; only its hash is kept."""
        point = PaymentPoint.objects.filter(pk=point_id).first()
        if point is None:
            raise Http404("No such payment point.")
        key = None
        if request.method == "POST":
            try:
                key = payment_point_key_rotate(user=request.user, payment_point=point)
            except ValidationError as exc:
                _report(request, self, exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "point": point,
            "key": key,
            "title": f"API key of {point}",
        }
        return TemplateResponse(request, "payments/paymentpoint_key.html", context)


class PaymentPlanForm(forms.ModelForm):
    user: Any = None  # set by the admin: the plan must be one the user may request payments for

    def clean_benefit_plan(self) -> Any:
        from payments.selectors import user_can_request_payments

        plan = self.cleaned_data["benefit_plan"]
        if plan is not None and not user_can_request_payments(self.user, plan):
            raise forms.ValidationError(f"You may not request payments for {plan}.")
        return plan

    class Meta:
        model = PaymentPlan
        fields = (
            "benefit_plan",
            "name",
            "amount_formula",
            "filter_expression",
            "currency",
            "frequency",
            "per_transaction_limit",
        )
        widgets = {
            "amount_formula": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "filter_expression": forms.Textarea(attrs={"rows": 2, "cols": 80}),
        }


class GenerateForm(forms.Form):
    cycle = forms.ModelChoiceField(queryset=PaymentCycle.objects.all())
    payment_point = forms.ModelChoiceField(queryset=PaymentPoint.objects.none(), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the points the service would accept for this officer: no choice that ends in a refusal.
        self.fields["payment_point"].queryset = payment_points_usable(user=user)


@admin.register(PaymentPlan)
class PaymentPlanAdmin(ScopedHistoryAdmin):
    form = PaymentPlanForm
    change_form_template = "payments/paymentplan_change_form.html"
    list_display = (
        "name",
        "benefit_plan",
        "amount_formula",
        "currency",
        "frequency",
        "per_transaction_limit",
    )
    list_select_related = ("benefit_plan",)
    list_filter = ("frequency", "currency")
    search_fields = ("name",)  # one table, trigram-indexed (portal 0007)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return payment_plan_list(user=request.user)

    def get_form(self, request: HttpRequest, obj: PaymentPlan | None = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "benefit_plan":
            kwargs["queryset"] = plan_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: PaymentPlan, form: Any, change: bool) -> None:
        from payments.services import payment_plan_save

        payment_plan_save(user=request.user, payment_plan=obj)

    def response_add(
        self, request: HttpRequest, obj: PaymentPlan, post_url_continue: str | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:payments_paymentplan_preview", args=[obj.pk]))

    def response_change(self, request: HttpRequest, obj: PaymentPlan) -> HttpResponse:
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_change(request, obj)
        return HttpResponseRedirect(reverse("admin:payments_paymentplan_preview", args=[obj.pk]))

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:plan_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="payments_paymentplan_preview",
            ),
            path(
                "formula-help/<int:benefit_plan_id>/",
                self.admin_site.admin_view(self.formula_help_view),
                name="payments_paymentplan_formula_help",
            ),
            *super().get_urls(),
        ]

    def render_change_form(  # type: ignore[no-untyped-def]
        self, request: HttpRequest, context: dict[str, Any], add=False, change=False, form_url="", obj=None
    ):
        """Beside the formula fields: the variables and functions of the chosen benefit plan."""
        from payments.expressions import payment_expression_help

        plan = obj.benefit_plan if obj is not None else None
        chosen = request.POST.get("benefit_plan") or request.GET.get("benefit_plan")
        if chosen and str(chosen).isdigit():
            plan = plan_list(user=request.user).filter(pk=chosen).first() or plan
        context["formula_help"] = payment_expression_help(plan) if plan is not None else None
        context["formula_help_url"] = reverse("admin:payments_paymentplan_formula_help", args=[0])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def formula_help_view(self, request: HttpRequest, benefit_plan_id: int) -> JsonResponse:
        from payments.expressions import payment_expression_help

        plan = plan_list(user=request.user).filter(pk=benefit_plan_id).first()
        if plan is None:
            raise Http404("No such benefit plan among yours.")
        return JsonResponse(payment_expression_help(plan))

    def preview_view(self, request: HttpRequest, plan_id: int) -> HttpResponse:
        """Figures and a sample of what a payroll would pay; from here a payroll is generated."""
        payment_plan = self.get_queryset(request).filter(pk=plan_id).first()
        if payment_plan is None:
            raise Http404("No such payment plan among yours.")
        form = GenerateForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                payroll = payroll_create(
                    user=request.user,
                    payment_plan=payment_plan,
                    cycle=form.cleaned_data["cycle"],
                    payment_point=form.cleaned_data["payment_point"],
                )
            except ValidationError as exc:
                _report(request, self, exc)
            else:
                self.message_user(request, f"{payroll} is being generated.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:payments_payroll_change", args=[payroll.pk]))
        preview = error = None
        try:
            preview = payment_plan_preview(user=request.user, payment_plan=payment_plan)
        except ValidationError as exc:
            error = error_text(exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "payment_plan": payment_plan,
            "preview": preview,
            "error": error,
            "form": form,
            "title": f"Preview of {payment_plan}",
        }
        return TemplateResponse(request, "payments/paymentplan_preview.html", context)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ResultFileForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with the columns reference, status, amount_paid, paid_at, transaction_id, reason"
    )


@admin.register(Payroll)
class PayrollAdmin(ScopedHistoryAdmin):
    list_display = ("__str__", "payment_plan", "cycle", "payment_point", "status", "created_at")
    list_select_related = ("payment_plan__benefit_plan", "cycle", "payment_point")
    list_filter = ("status",)
    search_fields = ("name",)
    raw_id_fields = ("payment_plan", "cycle", "payment_point", "carried_from", "job", "created_by")
    show_full_result_count = False
    change_form_template = "payments/payroll_change_form.html"
    readonly_fields = (
        "payment_plan",
        "cycle",
        "payment_point",
        "name",
        "status",
        "amount_formula",
        "filter_expression",
        "payment_date",
        "generated_for",
        "carried_from",
        "job",
        "error",
        "created_by",
        "created_at",
    )
    exclude = ("locations",)

    @admin.display(description="Generated for")
    def generated_for(self, obj: Payroll) -> str:
        return obj.scope_label()

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return payroll_list(user=request.user).select_related(
            "payment_plan__benefit_plan", "cycle", "payment_point"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # generated from a payment plan's preview

    def has_delete_permission(self, request: HttpRequest, obj: Payroll | None = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        payroll = self.get_queryset(request).filter(pk=object_id).first()
        extra: dict[str, Any] = dict(extra_context or {})
        if payroll is not None:
            payroll = payroll_sync_decision(payroll=payroll)
            extra.update(
                figures=payroll_figures(payroll=payroll),
                actions_allowed=self._actions_allowed(payroll, request),
                reason_form=ReasonForm(),
                result_form=ResultFileForm(),
                figures_url=reverse("admin:payments_payroll_figures", args=[payroll.pk]),
            )
        return super().change_view(request, object_id, form_url, extra)

    @staticmethod
    def _actions_allowed(payroll: Payroll, request: HttpRequest) -> dict[str, bool]:
        status = payroll.status
        allowed = {
            "submit": status == PayrollStatus.DRAFT,
            "send": status == PayrollStatus.APPROVED,
            "cancel": status in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.FAILED),
            "release": status
            in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.APPROVED),
            "close": status in (PayrollStatus.SENT, PayrollStatus.RECONCILING),
            "carry": status in (PayrollStatus.RECONCILING, PayrollStatus.RECONCILED),
            "export": status
            in (
                PayrollStatus.APPROVED,
                PayrollStatus.SENT,
                PayrollStatus.RECONCILING,
                PayrollStatus.RECONCILED,
            ),
            "reconcile": status in (PayrollStatus.SENT, PayrollStatus.RECONCILING)
            and payroll.payment_point_id is not None,
        }
        # Offered only to those the views will serve (each check reads the payroll's lines once).
        if allowed["export"]:
            allowed["export"] = payroll_export_refusal(user=request.user, payroll=payroll) is None
        if allowed["reconcile"]:
            allowed["reconcile"] = payroll_results_refusal(user=request.user, payroll=payroll) is None
        return allowed

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view
        return [
            path("<int:payroll_id>/do/<str:step>/", view(self.step_view), name="payments_payroll_step"),
            path("<int:payroll_id>/figures/", view(self.figures_view), name="payments_payroll_figures"),
            path(
                "<int:payroll_id>/export.<str:extension>",
                view(self.export_view),
                name="payments_payroll_export",
            ),
            path("<int:payroll_id>/results/", view(self.results_view), name="payments_payroll_results"),
            *super().get_urls(),
        ]

    @staticmethod
    def _any_payroll_or_404(payroll_id: int) -> Payroll:
        """Any payroll, for the views that answer 403 with the reason (the refusal checks the scope)."""
        payroll = Payroll.objects.select_related("payment_plan__benefit_plan", "payment_point").filter(
            pk=payroll_id
        )
        found = payroll.first()
        if found is None:
            raise Http404("No such payroll.")
        return found

    def _payroll_or_404(self, request: HttpRequest, payroll_id: int) -> Payroll:
        payroll = self.get_queryset(request).filter(pk=payroll_id).first()
        if payroll is None:
            raise Http404("No such payroll among yours.")
        return payroll

    def step_view(self, request: HttpRequest, payroll_id: int, step: str) -> HttpResponse:
        """One lifecycle step, POST only; the service re-checks permission and state."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        payroll = self._payroll_or_404(request, payroll_id)
        reason = request.POST.get("reason", "")
        target = reverse("admin:payments_payroll_change", args=[payroll.pk])
        try:
            if step == "submit":
                _queued(
                    request,
                    self,
                    payroll_submit(user=request.user, payroll=payroll, reason=reason),
                    f"Approval of {payroll}",
                )
            elif step == "release":
                _queued(
                    request,
                    self,
                    benefit_release_request(user=request.user, payroll=payroll, reason=reason),
                    "Paying the held lines",
                )
            elif step == "send":
                payroll_send(user=request.user, payroll=payroll)
                self.message_user(request, f"{payroll} is marked sent to the provider.", messages.SUCCESS)
            elif step == "cancel":
                payroll_cancel(user=request.user, payroll=payroll, reason=reason)
                self.message_user(request, f"{payroll} is cancelled.", messages.SUCCESS)
            elif step == "close":
                payroll_close(user=request.user, payroll=payroll)
                self.message_user(request, f"{payroll} is reconciled.", messages.SUCCESS)
            elif step == "carry":
                new = payroll_carry_over(user=request.user, payroll=payroll)
                self.message_user(request, f"The failed lines went into {new}.", messages.SUCCESS)
                target = reverse("admin:payments_payroll_change", args=[new.pk])
            else:
                raise Http404(f"No step {step!r}.")
        except ValidationError as exc:
            _report(request, self, exc)
        return HttpResponseRedirect(target)

    def figures_view(self, request: HttpRequest, payroll_id: int) -> JsonResponse:
        payroll = self._payroll_or_404(request, payroll_id)
        return JsonResponse(payroll_figures(payroll=payroll))

    def export_view(self, request: HttpRequest, payroll_id: int, extension: str) -> HttpResponse:
        """The provider file, only for a user who may see every line of the payroll (403 otherwise)."""
        payroll = self._any_payroll_or_404(payroll_id)
        if extension not in ("csv", "xlsx"):
            raise Http404("Export as csv or xlsx.")
        refusal = payroll_export_refusal(user=request.user, payroll=payroll)
        if refusal:
            return _refused(request, self, refusal)
        try:
            if extension == "csv":
                response: HttpResponse = StreamingHttpResponse(
                    payroll_csv_lines(payroll), content_type="text/csv"
                )
            else:
                response = HttpResponse(
                    payroll_xlsx(payroll),
                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
        except ValidationError as exc:
            _report(request, self, exc)
            return HttpResponseRedirect(reverse("admin:payments_payroll_change", args=[payroll.pk]))
        response["Content-Disposition"] = f'attachment; filename="payroll-{payroll.pk}.{extension}"'
        return response

    def results_view(self, request: HttpRequest, payroll_id: int) -> HttpResponse:
        """The provider's result file uploaded by staff: the API's per-line checks; a file sent twice
        is answered as the first time."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        payroll = self._any_payroll_or_404(payroll_id)
        back = HttpResponseRedirect(reverse("admin:payments_payroll_change", args=[payroll.pk]))
        refusal = payroll_results_refusal(user=request.user, payroll=payroll)
        if refusal:
            return _refused(request, self, refusal)
        form = ResultFileForm(request.POST, request.FILES)
        if not form.is_valid():
            self.message_user(request, _("Choose a CSV file of results."), messages.ERROR)
            return back
        upload = form.cleaned_data["file"]
        try:
            answer, replayed = payroll_results_record(
                user=request.user, payroll=payroll, content=upload.read(MAX_RESULT_FILE_BYTES + 1)
            )
        except PermissionDenied as exc:
            return _refused(request, self, str(exc))
        except ValidationError as exc:
            _report(request, self, exc)
            return back
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "payroll": payroll,
            "answer": answer,
            "replayed": replayed,
            "title": f"Results recorded for {payroll}",
            "rejected": [line for line in answer["lines"] if line["result"] == "rejected"][:500],
        }
        return TemplateResponse(request, "payments/payroll_results.html", context)


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "payroll",
        "beneficiary",
        "recipient",
        "amount",
        "status",
        "hold_reason",
        "amount_paid",
        "thumbnail",
    )
    list_select_related = (
        "payroll",
        "beneficiary__benefit_plan",
        "beneficiary__household",
        "beneficiary__individual",
        "recipient",
    )
    list_filter = ("status",)
    search_fields = ("reference__exact", "transaction_id__exact")  # as printed: indexed, case kept
    raw_id_fields = ("payroll", "beneficiary", "cycle", "recipient", "location")
    show_full_result_count = False
    readonly_fields = ("thumbnail", "story")

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return benefit_list(user=request.user)

    @admin.display(description=_("Story of the line"))
    def story(self, obj: Benefit) -> str:
        """Every change of the line's status or amount: when, what, who (or which provider), why."""
        events = benefit_story(obj)
        if not events:
            return str(_("No recorded change."))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{event.at:%Y-%m-%d %H:%M:%S}",
                    event.get_kind_display(),
                    f"{event.get_from_status_display() or '—'} → {event.get_to_status_display()}",
                    "" if event.amount is None else event.amount,
                    event.user or event.payment_point or "—",
                    f"#{event.task_id}" if event.task_id else "",
                    event.note,
                )
                for event in events
            ),
        )
        return format_html(
            '<table id="benefit-story"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"),
            _("What"),
            _("Status"),
            _("Amount"),
            _("Who"),
            _("Task"),
            _("Note"),
            rows,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Benefit | None = None) -> bool:
        return False  # lines change through the payroll's steps and the provider's results

    def has_delete_permission(self, request: HttpRequest, obj: Benefit | None = None) -> bool:
        return False

    @admin.display(description="evidence")
    def thumbnail(self, obj: Benefit) -> str:
        if not obj.evidence_photo:
            return "—"
        url = reverse("admin:payments_benefit_photo", args=[obj.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="Photo of the payment" class="evidence-thumbnail" '
            'width="64"></a>',
            url,
            url,
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:benefit_id>/photo/",
                self.admin_site.admin_view(self.photo_view),
                name="payments_benefit_photo",
            ),
            *super().get_urls(),
        ]

    def photo_view(self, request: HttpRequest, benefit_id: int) -> HttpResponse:
        """The evidence photo, served through the app to those who may see the line (never from MEDIA_URL)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        benefit = self.get_queryset(request).filter(pk=benefit_id).first()
        if benefit is None or not benefit.evidence_photo:
            raise Http404("No photo.")
        content_type = "image/png" if benefit.evidence_photo.name.endswith(".png") else "image/jpeg"
        return FileResponse(benefit.evidence_photo.open("rb"), content_type=content_type)


@admin.register(ReconciliationBatch)
class ReconciliationBatchAdmin(admin.ModelAdmin):
    """What each provider sent (API or file) and the answer it got; read-only."""

    list_display = ["created_at", "payment_point", "source", "idempotency_key", "line_count", "created_by"]
    list_filter = ["source", "payment_point"]
    list_select_related = ["payment_point", "created_by"]
    search_fields = ["idempotency_key__exact"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [
        "payment_point",
        "source",
        "idempotency_key",
        "request_hash",
        "response",
        "created_by",
        "created_at",
    ]

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return reconciliation_batch_list(user=request.user)

    @admin.display(description="Lines answered")
    def line_count(self, obj: ReconciliationBatch) -> int:
        lines = obj.response.get("lines") if isinstance(obj.response, dict) else None
        return len(lines) if isinstance(lines, list) else 0

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReconciliationBatch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReconciliationBatch | None = None) -> bool:
        return False
