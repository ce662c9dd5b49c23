"""Payrolls in the admin: the page with its figures and the steps offered, each step a POST to a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import path, reverse

from access.history import ScopedHistoryAdmin
from payments.admin.exports import PayrollExportViews
from payments.admin.reconciliation import PayrollResultViews, ResultFileForm
from payments.admin.responses import queued, refusal_report
from payments.models import Payroll, PayrollStatus
from payments.selectors import payroll_export_refusal, payroll_figures, payroll_list, payroll_results_refusal
from payments.services import (
    benefit_release_request,
    payroll_cancel,
    payroll_carry_over,
    payroll_close,
    payroll_send,
    payroll_submit,
)
from payments.verification_selectors import payroll_verification_summaries


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


@admin.register(Payroll)
class PayrollAdmin(PayrollExportViews, PayrollResultViews, ScopedHistoryAdmin):
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
        # Only reads: a payroll whose approval ended undone was brought in line by payments.receivers.
        payroll = self.get_queryset(request).filter(pk=object_id).first()
        extra: dict[str, Any] = dict(extra_context or {})
        if payroll is not None:
            extra.update(
                figures=payroll_figures(payroll=payroll),
                actions_allowed=self._actions_allowed(payroll, request),
                reason_form=ReasonForm(),
                result_form=ResultFileForm(),
                figures_url=reverse("admin:payments_payroll_figures", args=[payroll.pk]),
                verification_summaries=payroll_verification_summaries(payroll=payroll),
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
            *super().get_urls(),
        ]

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
                queued(
                    request,
                    self,
                    payroll_submit(user=request.user, payroll=payroll, reason=reason),
                    f"Approval of {payroll}",
                )
            elif step == "release":
                queued(
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
            refusal_report(request, self, exc)
        return HttpResponseRedirect(target)

    def figures_view(self, request: HttpRequest, payroll_id: int) -> JsonResponse:
        payroll = self._payroll_or_404(request, payroll_id)
        return JsonResponse(payroll_figures(payroll=payroll))
