"""Uploads in the admin: the import screen (django-import-export's, over the bulk pipeline), the batch page
(progress, counts, errors, commit request), the files."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from access.plans import plan_list, plan_managed_list
from approvals.admin import CappedCountPaginator
from approvals.services import error_text
from programs.models import BenefitPlan, PlanStatus
from uploads.exports import rejected_rows_csv, template_csv, template_xlsx
from uploads.forms import BeneficiaryImportForm
from uploads.models import BatchState, ImportBatch
from uploads.resources import BeneficiaryUploadResource
from uploads.selectors import batch_errors, batch_list
from uploads.services import batch_commit_request, batch_validation_start

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLANS_LISTED = 50


def _importable_plans(request: HttpRequest) -> QuerySet[BenefitPlan]:
    """Plans the user may upload into: those they manage that are not closed."""
    return plan_managed_list(user=request.user).exclude(status=PlanStatus.CLOSED).order_by("code", "pk")


class PlanFilter(admin.SimpleListFilter):
    """Only the plans the user sees (the default related filter would list every plan's name)."""

    title = "benefit plan"
    parameter_name = "benefit_plan__id__exact"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        plans = plan_list(user=request.user).order_by("code").values_list("pk", "code", "name")
        return [(str(pk), f"{code} {name}") for pk, code, name in plans]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ImportBatch]) -> QuerySet[ImportBatch]:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(benefit_plan_id=int(value))
        except ValueError:
            return queryset.none()


@admin.register(ImportBatch)
class ImportBatchAdmin(ImportMixin, admin.ModelAdmin):
    """Uploads: import-export's import screen (our plan and reading options, our bulk pipeline underneath),
    the batch page (progress, counts, errors, commit request), the templates and rejected rows."""

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
    list_filter = ["state", PlanFilter]
    list_select_related = ["benefit_plan", "uploaded_by"]
    search_fields = ["original_name"]
    show_full_result_count = False
    paginator = CappedCountPaginator  # batches only accumulate: never a full COUNT(*)

    # django-import-export: the formats our readers stream, our resource and form; the confirm step is the
    # approval of the commit on the batch page.
    import_formats = [base_formats.CSV, base_formats.TSV, base_formats.XLSX]
    resource_classes = [BeneficiaryUploadResource]
    import_form_class = BeneficiaryImportForm
    import_template_name = "uploads/import.html"
    import_export_change_list_template = "uploads/change_list.html"

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return batch_list(user=request.user)

    def has_change_permission(self, request: HttpRequest, obj: ImportBatch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportBatch | None = None) -> bool:
        return False

    def has_import_permission(self, request: HttpRequest) -> bool:
        if not hasattr(request, "_uploads_may_import"):
            request._uploads_may_import = (  # type: ignore[attr-defined]
                request.user.is_active and request.user.is_staff and _importable_plans(request).exists()
            )
        return request._uploads_may_import  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # "Add" (the sidebar's link, /add/) leads to the import screen.
        return self.has_import_permission(request)

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
            path("<int:batch_id>/file/", view(self.file_view), name="uploads_importbatch_file"),
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

    # ---- the import screen ---------------------------------------------------

    def get_import_form_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().get_import_form_kwargs(request), "plans": _importable_plans(request)}

    def get_import_form_initial(self, request: HttpRequest) -> dict[str, Any]:
        plan = self._plan_asked(request)
        return {"benefit_plan": plan.pk} if plan else {}

    def _plan_asked(self, request: HttpRequest) -> BenefitPlan | None:
        """The plan named by ?plan= among those the user may upload into, or their only plan."""
        if not hasattr(request, "_uploads_plan_asked"):
            plans = _importable_plans(request)
            try:
                asked = plans.filter(pk=int(request.GET.get("plan", ""))).first()
            except ValueError:
                only = list(plans[:2])
                asked = only[0] if len(only) == 1 else None
            request._uploads_plan_asked = asked  # type: ignore[attr-defined]
        return request._uploads_plan_asked  # type: ignore[attr-defined]

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """import-export's import screen with our bulk pipeline behind it: the file is checked, stored as a
        batch and validated in the background, and the user goes on to the batch page (no row-by-row dry run,
        no confirm page: a checker's approval confirms the commit)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_import_form(request)
        plan = None
        if request.method == "POST":
            if form.is_valid():
                resource = self.choose_import_resource_class(form, request)(
                    **self.get_import_resource_kwargs(request, form=form)
                )
                try:
                    batch = resource.import_file(
                        user=request.user,
                        file=form.cleaned_data["import_file"],
                        encoding=form.cleaned_data["encoding"],
                        date_format=form.cleaned_data["date_format"],
                        duplicate_mode=form.cleaned_data["duplicate_mode"],
                    )
                except ValidationError as exc:
                    form.add_error("import_file", error_text(exc))
                else:
                    self.message_user(
                        request, f"{batch} was received; it is being validated.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:uploads_importbatch_change", args=[batch.pk]))
            plan = form.cleaned_data.get("benefit_plan") if hasattr(form, "cleaned_data") else None
        plan = plan or self._plan_asked(request)
        # Without a plan chosen: the columns every plan's file has.
        resource = self.get_import_resource_classes(request)[0](plan=plan)
        listed = list(_importable_plans(request)[: PLANS_LISTED + 1])
        context = {
            **self.admin_site.each_context(request),
            **self.get_import_context_data(),
            "title": "Import beneficiaries",
            "form": form,
            "opts": self.model._meta,
            "media": self.media + form.media,
            "fields_list": [
                (
                    resource.get_display_name(),
                    [field.column_name for field in resource.get_user_visible_fields()],
                )
            ],
            "import_error_display": self.import_error_display,
            "plan": plan,
            "required_columns": [column.name for column in resource.columns if column.required],
            "plans": listed[:PLANS_LISTED],
            "more_plans": len(listed) > PLANS_LISTED,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        form = kwargs.get("form")
        plan = (
            form.cleaned_data.get("benefit_plan")
            if form is not None and hasattr(form, "cleaned_data")
            else None
        )
        return {"plan": plan}

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """import-export's confirm step: there is none (the batch page and the approval replace it)."""
        return HttpResponseRedirect(reverse("admin:uploads_importbatch_import"))

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        url = reverse("admin:uploads_importbatch_import")
        return HttpResponseRedirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)

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
        response["Cache-Control"] = "private, no-store"
        stem = batch.original_name.rsplit(".", 1)[0]
        response["Content-Disposition"] = content_disposition_header(True, f"{stem}-rejected.csv")
        return response

    def file_view(self, request: HttpRequest, batch_id: int) -> FileResponse:
        """The file as it was received, to those who see the batch (never from a public media URL)."""
        batch = self._batch(request, batch_id)
        if not batch.file:
            raise Http404
        try:
            handle = batch.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle, as_attachment=True, filename=batch.original_name, content_type="application/octet-stream"
        )
        response["Cache-Control"] = "private, no-store"
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
