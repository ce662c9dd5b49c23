"""Uploads in the admin: the upload form, the batch page (progress, counts, errors, commit request), the files."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from approvals.services import error_text
from programs.selectors import plan_list, plan_managed_list
from uploads.exports import rejected_rows_csv, template_csv, template_xlsx
from uploads.forms import UploadForm
from uploads.models import BatchState, ImportBatch
from uploads.selectors import batch_errors, batch_list
from uploads.services import batch_commit_request, batch_create, batch_sync, batch_validation_start

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "benefit_plan",
        "state",
        "total_rows",
        "new_rows",
        "update_rows",
        "skipped_rows",
        "error_rows",
        "uploaded_by",
        "created_at",
    ]
    list_filter = ["state", "benefit_plan"]
    list_select_related = ["benefit_plan", "uploaded_by"]
    search_fields = ["original_name"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return batch_list(user=request.user)

    def has_change_permission(self, request: HttpRequest, obj: ImportBatch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportBatch | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and plan_managed_list(user=request.user).exists()

    def has_view_permission(self, request: HttpRequest, obj: ImportBatch | None = None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view
        return [
            path(
                "<int:batch_id>/rejected.csv", view(self.rejected_view), name="uploads_importbatch_rejected"
            ),
            path(
                "<int:batch_id>/request-commit/",
                view(self.request_commit_view),
                name="uploads_importbatch_request_commit",
            ),
            path("<int:batch_id>/validate/", view(self.validate_view), name="uploads_importbatch_validate"),
            path(
                "template/<int:plan_id>.<str:kind>",
                view(self.template_view),
                name="uploads_importbatch_template",
            ),
            *super().get_urls(),
        ]

    def _batch(self, request: HttpRequest, batch_id: int) -> ImportBatch:
        return get_object_or_404(self.get_queryset(request), pk=batch_id)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        plans = plan_managed_list(user=request.user)
        form = UploadForm(request.POST or None, request.FILES or None, plans=plans)
        if request.method == "POST" and form.is_valid():
            try:
                batch = batch_create(
                    user=request.user,
                    plan=form.cleaned_data["benefit_plan"],
                    file=form.cleaned_data["file"],
                    encoding=form.cleaned_data["encoding"],
                    date_format=form.cleaned_data["date_format"],
                    duplicate_mode=form.cleaned_data["duplicate_mode"],
                )
            except ValidationError as exc:
                form.add_error(None, error_text(exc))
            else:
                self.message_user(request, f"{batch} was received; it is being validated.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:uploads_importbatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload beneficiaries",
            "form": form,
            "plans": plans,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "uploads/upload_form.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            batch = self._batch(request, int(object_id))
        except ValueError:
            raise Http404 from None
        batch = batch_sync(batch=batch)
        job = None
        if batch.state == BatchState.VALIDATING:
            job = batch.validation_job
        elif (
            batch.state in (BatchState.AWAITING_APPROVAL, BatchState.COMMITTING)
            and batch.task_id
            and batch.task.job_id
        ):
            job = batch.task.job
        context = {
            **self.admin_site.each_context(request),
            "title": str(batch),
            "batch": batch,
            "opts": self.model._meta,
            "errors": batch_errors(batch=batch) if batch.error_rows else [],
            "job": job,
            "can_request": batch.state == BatchState.VALIDATED and batch.committable_rows > 0,
            "can_validate": batch.state in (BatchState.UPLOADED, BatchState.FAILED) and bool(batch.file),
        }
        return TemplateResponse(request, "uploads/batch_detail.html", context)

    def request_commit_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        batch = self._batch(request, batch_id)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:uploads_importbatch_change", args=[batch.pk]))
        try:
            task = batch_commit_request(batch=batch, user=request.user, reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
        else:
            self.message_user(
                request, f"The commit of {batch} waits for approval (task #{task.pk}).", messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:uploads_importbatch_change", args=[batch.pk]))

    def validate_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        batch = self._batch(request, batch_id)
        if request.method == "POST":
            try:
                batch_validation_start(batch=batch, user=request.user)
            except ValidationError as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:uploads_importbatch_change", args=[batch.pk]))

    def rejected_view(self, request: HttpRequest, batch_id: int) -> StreamingHttpResponse:
        batch = self._batch(request, batch_id)
        response = StreamingHttpResponse(
            rejected_rows_csv(batch=batch), content_type="text/csv; charset=utf-8"
        )
        stem = batch.original_name.rsplit(".", 1)[0]
        response["Content-Disposition"] = f'attachment; filename="{stem}-rejected.csv"'
        return response

    def template_view(self, request: HttpRequest, plan_id: int, kind: str) -> HttpResponse:
        plan = get_object_or_404(plan_list(user=request.user), pk=plan_id)
        if kind == "csv":
            response = HttpResponse(template_csv(plan=plan), content_type="text/csv; charset=utf-8")
        elif kind == "xlsx":
            response = HttpResponse(template_xlsx(plan=plan), content_type=XLSX)
        else:
            raise Http404
        response["Content-Disposition"] = f'attachment; filename="{plan.code}-beneficiaries-template.{kind}"'
        return response
