"""Payment plans in the admin: the form (formula help beside it), the preview, and generating a payroll."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from access.history import ScopedHistoryAdmin
from access.plans import plan_list, user_can_request_payments
from approvals.services import error_text
from payments.admin.responses import refusal_report
from payments.expressions import payment_expression_help
from payments.models import PaymentCycle, PaymentPlan, PaymentPoint
from payments.selectors import payment_plan_list
from payments.services import payment_plan_preview, payment_plan_save, payment_points_usable, payroll_create


class PaymentPlanForm(forms.ModelForm):
    user: Any = None  # set by the admin: the plan must be one the user may request payments for

    def clean_benefit_plan(self) -> Any:
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
        plan = obj.benefit_plan if obj is not None else None
        chosen = request.POST.get("benefit_plan") or request.GET.get("benefit_plan")
        if chosen and str(chosen).isdigit():
            plan = plan_list(user=request.user).filter(pk=chosen).first() or plan
        context["formula_help"] = payment_expression_help(plan) if plan is not None else None
        context["formula_help_url"] = reverse("admin:payments_paymentplan_formula_help", args=[0])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def formula_help_view(self, request: HttpRequest, benefit_plan_id: int) -> JsonResponse:
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
                refusal_report(request, self, exc)
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
