"""The payroll's provider file (CSV or XLSX) from its admin page, for users who may see every line of it."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse

from payments.admin.responses import any_payroll_or_404, refusal_report, refused
from payments.selectors import payroll_export_refusal
from payments.services import payroll_csv_lines, payroll_xlsx


class PayrollExportViews(admin.ModelAdmin):
    """The payroll admin's export route (mixed into PayrollAdmin)."""

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:payroll_id>/export.<str:extension>",
                self.admin_site.admin_view(self.export_view),
                name="payments_payroll_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, payroll_id: int, extension: str) -> HttpResponse:
        """The provider file, only for a user who may see every line of the payroll (403 otherwise)."""
        payroll = any_payroll_or_404(payroll_id)
        if extension not in ("csv", "xlsx"):
            raise Http404("Export as csv or xlsx.")
        refusal = payroll_export_refusal(user=request.user, payroll=payroll)
        if refusal:
            return refused(request, self, refusal)
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
            refusal_report(request, self, exc)
            return HttpResponseRedirect(reverse("admin:payments_payroll_change", args=[payroll.pk]))
        response["Content-Disposition"] = f'attachment; filename="payroll-{payroll.pk}.{extension}"'
        return response
