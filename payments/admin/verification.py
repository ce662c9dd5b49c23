"""Payment verification in the admin: a plan made from a paid payroll's page, its steps (start: draw the
sample; finish), and the sampled lines, each recorded on a small form a verifier fills in on a phone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from access.history import ScopedHistoryAdmin
from access.roles import VERIFIES_PAYMENTS_ROLES, users_in_roles
from payments.admin.responses import refusal_report, refused
from payments.models import VerificationMethod, VerificationPlan, VerificationRecord
from payments.selectors import payroll_list
from payments.services.verification import (
    SamplingSettings,
    VerificationAnswer,
    verification_plan_activate,
    verification_plan_create,
    verification_plan_finish,
    verification_record_refusal,
    verification_record_save,
)
from payments.verification_selectors import (
    verification_plan_list,
    verification_record_list,
    verification_summary,
)

CONFIDENCE_CHOICES = [("0.900", "90 %"), ("0.950", "95 %"), ("0.990", "99 %")]


class VerificationPlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    confidence_level = forms.TypedChoiceField(
        label=_("Confidence level"), choices=CONFIDENCE_CHOICES, coerce=Decimal, initial="0.950"
    )
    margin_of_error = forms.DecimalField(
        label=_("Margin of error"),
        max_digits=4,
        decimal_places=3,
        required=False,
        initial=Decimal("0.050"),
        help_text=_("e.g. 0.05 for ±5 points; leave empty with a fixed size"),
    )
    expected_proportion = forms.DecimalField(
        label=_("Expected proportion received"), max_digits=4, decimal_places=3, initial=Decimal("0.500")
    )
    finite_population_correction = forms.BooleanField(
        label=_("Finite population correction"), required=False, initial=True
    )
    fixed_size = forms.IntegerField(
        label=_("Fixed sample size"), min_value=1, required=False, help_text=_("Instead of a margin of error")
    )
    strata_depth = forms.IntegerField(
        label=_("Stratify by location level (depth)"),
        min_value=0,
        required=False,
        help_text=_("0 for the top level; empty: not stratified"),
    )
    verifiers = forms.ModelMultipleChoiceField(
        label=_("Verifiers"), queryset=users_in_roles(VERIFIES_PAYMENTS_ROLES)
    )

    def settings(self) -> SamplingSettings:
        data = self.cleaned_data
        return SamplingSettings(
            confidence_level=data["confidence_level"],
            margin_of_error=data["margin_of_error"] if data["fixed_size"] is None else None,
            expected_proportion=data["expected_proportion"],
            finite_population_correction=data["finite_population_correction"],
            fixed_size=data["fixed_size"],
            strata_depth=data["strata_depth"],
        )


class VerificationRecordForm(forms.Form):
    received = forms.TypedChoiceField(
        label=_("Received the money?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    amount_received = forms.DecimalField(
        label=_("Amount received"), max_digits=14, decimal_places=2, required=False
    )
    received_on = forms.DateField(
        label=_("Date received"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    method = forms.ChoiceField(
        label=_("Checked by"), choices=VerificationMethod.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def answer(self) -> VerificationAnswer:
        data = self.cleaned_data
        return VerificationAnswer(
            received=data["received"],
            amount_received=data["amount_received"],
            received_on=data["received_on"],
            method=data["method"],
            comment=data["comment"],
        )


def _errors_into(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@admin.register(VerificationPlan)
class VerificationPlanAdmin(ScopedHistoryAdmin):
    list_display = ("__str__", "payroll", "status", "sample_size", "population_size", "created_at")
    list_select_related = ("payroll",)
    list_filter = ("status",)
    raw_id_fields = ("payroll", "created_by")
    show_full_result_count = False
    change_form_template = "payments/verificationplan_change_form.html"
    exclude = ("verifiers",)
    readonly_fields = (
        "payroll",
        "name",
        "status",
        "confidence_level",
        "margin_of_error",
        "expected_proportion",
        "finite_population_correction",
        "fixed_size",
        "strata_depth",
        "population_size",
        "sample_size",
        "verifier_names",
        "seed",
        "created_by",
        "created_at",
        "activated_at",
        "finished_at",
    )

    @admin.display(description=_("Verifiers"))
    def verifier_names(self, obj: VerificationPlan) -> str:
        return ", ".join(user.get_username() for user in obj.verifiers.order_by("username"))

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return verification_plan_list(user=request.user).select_related("payroll")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made from a paid payroll's page

    def has_change_permission(self, request: HttpRequest, obj: VerificationPlan | None = None) -> bool:
        return False  # its steps are POSTs to the services

    def has_delete_permission(self, request: HttpRequest, obj: VerificationPlan | None = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        plan = self.get_queryset(request).filter(pk=object_id).first()
        extra: dict[str, Any] = dict(extra_context or {})
        if plan is not None:
            extra.update(
                summary=verification_summary(plan=plan),
                can_change=request.user.has_perm("payments.change_verificationplan"),
                records_url=reverse("admin:payments_verificationrecord_changelist")
                + f"?plan__id__exact={plan.pk}",
            )
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view
        return [
            path(
                "create/<int:payroll_id>/",
                view(self.create_view),
                name="payments_verificationplan_create",
            ),
            path(
                "<int:verification_plan_id>/do/<str:verification_step>/",
                view(self.step_view),
                name="payments_verificationplan_step",
            ),
            *super().get_urls(),
        ]

    def create_view(self, request: HttpRequest, payroll_id: int) -> HttpResponse:
        """The plan's settings for a payroll of the user's; the service checks permission and state."""
        payroll = payroll_list(user=request.user).filter(pk=payroll_id).first()
        if payroll is None:
            raise Http404("No such payroll among yours.")
        if not request.user.has_perm("payments.add_verificationplan"):
            return refused(request, self, str(_("You may not plan payment verifications.")))
        form = VerificationPlanForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                plan = verification_plan_create(
                    user=request.user,
                    payroll=payroll,
                    settings=form.settings(),
                    verifiers=list(form.cleaned_data["verifiers"]),
                    name=form.cleaned_data["name"],
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                self.message_user(
                    request, _("%(plan)s is ready to start.") % {"plan": plan}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:payments_verificationplan_change", args=[plan.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Verify %(payroll)s") % {"payroll": payroll},
            "payroll": payroll,
            "form": form,
        }
        return TemplateResponse(request, "payments/verification_plan_create.html", context)

    def step_view(
        self, request: HttpRequest, verification_plan_id: int, verification_step: str
    ) -> HttpResponse:
        """Start or finish, POST only; the service re-checks permission and state."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        plan = self.get_queryset(request).filter(pk=verification_plan_id).first()
        if plan is None:
            raise Http404("No such verification plan among yours.")
        try:
            if verification_step == "activate":
                plan = verification_plan_activate(user=request.user, plan=plan)
                self.message_user(
                    request,
                    _("The sample of %(count)s lines is drawn and assigned.") % {"count": plan.sample_size},
                    messages.SUCCESS,
                )
            elif verification_step == "finish":
                verification_plan_finish(user=request.user, plan=plan)
                self.message_user(request, _("%(plan)s is finished.") % {"plan": plan}, messages.SUCCESS)
            else:
                raise Http404(f"No step {verification_step!r}.")
        except ValidationError as exc:
            refusal_report(request, self, exc)
        return HttpResponseRedirect(reverse("admin:payments_verificationplan_change", args=[plan.pk]))


@admin.register(VerificationRecord)
class VerificationRecordAdmin(ScopedHistoryAdmin):
    list_display = (
        "benefit",
        "recipient",
        "location",
        "amount_paid",
        "status",
        "received",
        "amount_received",
        "discrepancy",
        "verifier",
        "record_link",
    )
    list_select_related = ("benefit__recipient", "location", "verifier", "plan")
    list_filter = ("status", "discrepancy", "method")
    raw_id_fields = ("plan", "benefit", "location", "stratum", "verifier", "recorded_by")
    show_full_result_count = False
    readonly_fields = (
        "plan",
        "benefit",
        "location",
        "stratum",
        "verifier",
        "amount_paid",
        "status",
        "received",
        "amount_received",
        "received_on",
        "method",
        "comment",
        "discrepancy",
        "recorded_by",
        "recorded_at",
    )

    @admin.display(description=_("Recipient"))
    def recipient(self, obj: VerificationRecord) -> str:
        person = obj.benefit.recipient
        return f"{person} {person.phone}".strip() if person is not None else "—"

    @admin.display(description=_("Record"))
    def record_link(self, obj: VerificationRecord) -> str:
        url = reverse("admin:payments_verificationrecord_record", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Record"))

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return verification_record_list(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drawn with the sample

    def has_change_permission(self, request: HttpRequest, obj: VerificationRecord | None = None) -> bool:
        return False  # recorded through its form (record_view), which calls the service

    def has_delete_permission(self, request: HttpRequest, obj: VerificationRecord | None = None) -> bool:
        return False

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view
        return [
            path(
                "<int:verification_record_id>/record/",
                view(self.record_view),
                name="payments_verificationrecord_record",
            ),
            *super().get_urls(),
        ]

    def record_view(self, request: HttpRequest, verification_record_id: int) -> HttpResponse:
        """The answer of one sampled recipient: a small form; GET shows it, POST records it."""
        record = (
            self.get_queryset(request)
            .select_related("plan__payroll__payment_plan__benefit_plan", "benefit__recipient", "location")
            .filter(pk=verification_record_id)
            .first()
        )
        if record is None:
            raise Http404("No such sampled line among yours.")
        refusal = verification_record_refusal(user=request.user, record=record)
        initial = {
            "received": {True: "yes", False: "no"}.get(record.received),
            "amount_received": record.amount_received,
            "received_on": record.received_on,
            "method": record.method,
            "comment": record.comment,
        }
        form = VerificationRecordForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST":
            if refusal:
                return refused(request, self, refusal)
            if form.is_valid():
                try:
                    verification_record_save(
                        user=request.user, plan=record.plan, benefit=record.benefit_id, answer=form.answer()
                    )
                except ValidationError as exc:
                    _errors_into(form, exc)
                else:
                    self.message_user(request, _("Recorded: %(line)s.") % {"line": record.benefit})
                    return HttpResponseRedirect(self._next_url(record))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Verify %(line)s") % {"line": record.benefit},
            "record": record,
            "form": form,
            "refusal": refusal,
        }
        return TemplateResponse(
            request, "payments/verification_record.html", context, status=400 if form.errors else 200
        )

    @staticmethod
    def _next_url(record: VerificationRecord) -> str:
        return (
            reverse("admin:payments_verificationrecord_changelist")
            + f"?plan__id__exact={record.plan_id}&status__exact=pending"
        )
