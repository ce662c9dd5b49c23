"""Reports in the admin: the Reports menu (reports the user may see), the form, the report page, exports."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from access.history import ScopedHistoryAdmin
from access.plans import plan_list
from reports.figures import XLSX_TYPE, report_csv, report_figure, report_xlsx
from reports.forms import ReportForm
from reports.models import Measure, Report
from reports.selectors import MAX_GROUPS, report_get, report_list, report_result, user_can_edit_report
from reports.services import report_pin, report_save


@admin.register(Report)
class ReportAdmin(ScopedHistoryAdmin):
    form = ReportForm
    list_display = ("name", "dataset", "grouping", "measure_shown", "chart_type", "pinned", "open_link")
    list_filter = ("dataset", "chart_type", "pinned")
    search_fields = ("name", "description")
    actions = ("pin_to_dashboard", "unpin_from_dashboard")
    fieldsets = (
        (None, {"fields": ("name", "description")}),
        (
            "What to count",
            {
                "fields": (
                    "dataset",
                    "benefit_plan",
                    "group_by",
                    "series_by",
                    "measure",
                    "measure_field",
                    "filter_expression",
                )
            },
        ),
        ("How to show it", {"fields": ("chart_type", "pinned", "pin_order")}),
        ("Who sees it", {"fields": ("roles",)}),
    )

    class Media:
        js = ("reports/report_form.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return report_list(user=request.user)

    def get_form(self, request: HttpRequest, obj: Report | None = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "benefit_plan":
            kwargs["queryset"] = plan_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        """A past version only of a report the user may see now (simple-history would show any)."""
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return super().has_change_permission(request, obj) and user_can_edit_report(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return super().has_delete_permission(request, obj) and user_can_edit_report(request.user, obj)

    def save_model(self, request: HttpRequest, obj: Report, form: Any, change: bool) -> None:
        report_save(user=request.user, report=obj)  # the roles follow in save_related (form.save_m2m)

    @admin.display(description="grouped by")
    def grouping(self, obj: Report) -> str:
        return f"{obj.group_by} × {obj.series_by}" if obj.series_by else obj.group_by

    @admin.display(description="measure")
    def measure_shown(self, obj: Report) -> str:
        if obj.measure == Measure.COUNT:
            return "count"
        return f"{obj.measure} of {obj.measure_field}"

    @admin.display(description="")
    def open_link(self, obj: Report) -> str:
        return format_html('<a href="{}">Open</a>', reverse("admin:reports_report_view", args=[obj.pk]))

    @admin.action(description="Pin the selected reports to the dashboard", permissions=["change"])
    def pin_to_dashboard(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._pin(request, queryset, pinned=True)

    @admin.action(description="Unpin the selected reports from the dashboard", permissions=["change"])
    def unpin_from_dashboard(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._pin(request, queryset, pinned=False)

    def _pin(self, request: HttpRequest, queryset: QuerySet[Report], *, pinned: bool) -> None:
        try:
            count = report_pin(user=request.user, reports=queryset, pinned=pinned)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request, f"{count} report(s) {'pinned' if pinned else 'unpinned'}.", messages.SUCCESS
        )

    def response_add(
        self, request: HttpRequest, obj: Report, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(reverse("admin:reports_report_view", args=[obj.pk]))

    def response_change(self, request: HttpRequest, obj: Report) -> HttpResponse:
        if "_continue" in request.POST or "_addanother" in request.POST or "_saveasnew" in request.POST:
            return super().response_change(request, obj)
        return HttpResponseRedirect(reverse("admin:reports_report_view", args=[obj.pk]))

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:report_id>/view/",
                self.admin_site.admin_view(self.report_view),
                name="reports_report_view",
            ),
            path(
                "<int:report_id>/pinned/",
                self.admin_site.admin_view(self.pinned_view),
                name="reports_report_pinned",
            ),
            path(
                "<int:report_id>/export/<str:file_format>/",
                self.admin_site.admin_view(self.export_view),
                name="reports_report_export",
            ),
            *super().get_urls(),
        ]

    def _report_or_404(self, request: HttpRequest, report_id: int) -> Report:
        report = report_get(user=request.user, report_id=report_id)
        if report is None:
            raise Http404("No such report among those you may see.")
        return report

    def pinned_view(self, request: HttpRequest, report_id: int) -> HttpResponse:
        """One pinned report's box body (chart data, table, "data as of"), fetched by the dashboard."""
        from reports.templatetags.reports import pinned_report_context

        report = self._report_or_404(request, report_id)
        return TemplateResponse(
            request,
            "reports/pinned_report_body.html",
            pinned_report_context(report=report, user=request.user),
        )

    def report_view(self, request: HttpRequest, report_id: int) -> HttpResponse:
        """The report: chart, table, when it was computed, exports."""
        report = self._report_or_404(request, report_id)
        result = report_result(report=report, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": report.name,
            "report": report,
            "result": result,
            "figure": report_figure(result),
            "max_groups": MAX_GROUPS,
            "can_edit": self.has_change_permission(request, report),
        }
        return TemplateResponse(request, "reports/report_view.html", context)

    def export_view(self, request: HttpRequest, report_id: int, file_format: str) -> HttpResponse:
        report = self._report_or_404(request, report_id)
        if file_format not in ("csv", "xlsx"):
            raise Http404("Reports export to csv or xlsx.")
        result = report_result(report=report, user=request.user)
        if result.error:
            self.message_user(request, result.error, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:reports_report_view", args=[report.pk]))
        name = slugify(report.name) or f"report-{report.pk}"
        if file_format == "csv":
            response = HttpResponse(report_csv(result), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(report_xlsx(result), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{name}.{file_format}"'
        return response
