"""Payment results in the admin: the provider's result file recorded on a payroll's page, and what each
provider sent (API or file) with the answer it got, read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from payments.admin.responses import any_payroll_or_404, refusal_report, refused
from payments.models import ReconciliationBatch
from payments.selectors import payroll_results_refusal, reconciliation_batch_list
from payments.services import MAX_RESULT_FILE_BYTES, payroll_results_record


class ResultFileForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with the columns reference, status, amount_paid, paid_at, transaction_id, reason"
    )


class PayrollResultViews(admin.ModelAdmin):
    """The payroll admin's route for the provider's result file (mixed into PayrollAdmin)."""

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:payroll_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="payments_payroll_results",
            ),
            *super().get_urls(),
        ]

    def results_view(self, request: HttpRequest, payroll_id: int) -> HttpResponse:
        """The provider's result file uploaded by staff: the API's per-line checks; a file sent twice
        is answered as the first time."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        payroll = any_payroll_or_404(payroll_id)
        back = HttpResponseRedirect(reverse("admin:payments_payroll_change", args=[payroll.pk]))
        refusal = payroll_results_refusal(user=request.user, payroll=payroll)
        if refusal:
            return refused(request, self, refusal)
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
            return refused(request, self, str(exc))
        except ValidationError as exc:
            refusal_report(request, self, exc)
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
