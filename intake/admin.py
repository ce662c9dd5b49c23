"""Field collection in the admin: forms with their column mapping, the XLSForm download, an export's
import."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from access.plans import plan_managed_list, user_can_manage_plan
from approvals.services import error_text
from files.spreadsheets import XLSX_CONTENT_TYPE
from intake.forms import FieldFormChangeForm, FieldFormCreateForm, FieldImportForm
from intake.models import FieldForm
from intake.selectors import field_form_list, field_import_list
from intake.services import field_form_create, field_form_update, field_import
from intake.xlsform import xlsform_write
from programs.models import PlanStatus


@admin.register(FieldForm)
class FieldFormAdmin(admin.ModelAdmin):
    """Forms: create one for a plan (its mapping proposed), download its XLSForm, edit the mapping, import."""

    list_display = ["title", "form_id", "version", "benefit_plan", "updated_at"]
    list_select_related = ["benefit_plan"]
    search_fields = ["form_id__exact"]
    search_help_text = _("The exact form id (form_id of the XLSForm's settings sheet).")
    readonly_fields = ["form_id", "version", "benefit_plan", "created_by", "created_at", "updated_at"]
    show_full_result_count = False
    change_form_template = "intake/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[FieldForm]:
        return field_form_list(user=request.user)

    def _plans(self, request: HttpRequest) -> QuerySet[Any]:
        return plan_managed_list(user=request.user).exclude(status=PlanStatus.CLOSED).order_by("code")

    def get_form(self, request: HttpRequest, obj: FieldForm | None = None, **kwargs: Any) -> type[ModelForm]:
        if obj is None:
            plans = self._plans(request)

            class Create(FieldFormCreateForm):
                def __init__(self, *args: Any, **inner: Any) -> None:
                    super().__init__(*args, plans=plans, **inner)

            return Create
        return FieldFormChangeForm

    def get_fields(self, request: HttpRequest, obj: FieldForm | None = None) -> list[str]:
        if obj is None:
            return ["title", "form_id", "version", "benefit_plan"]
        return ["title", "form_id", "version", "benefit_plan", "mapping_lines", "created_by", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: FieldForm | None = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: FieldForm | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or user_can_manage_plan(request.user, obj.benefit_plan))

    def has_delete_permission(self, request: HttpRequest, obj: FieldForm | None = None) -> bool:
        return False  # imports refer to it; a new version is a new form

    def save_model(self, request: HttpRequest, obj: FieldForm, form: Any, change: bool) -> None:
        # The services check the plan and the mapping; their errors were turned into form errors in
        # save_form's validation below, so here they only write.
        if change:
            saved = field_form_update(
                user=request.user,
                form=obj,
                title=form.cleaned_data["title"],
                mapping=form.cleaned_data["mapping_lines"],
            )
        else:
            saved = field_form_create(
                user=request.user,
                plan=form.cleaned_data["benefit_plan"],
                form_id=form.cleaned_data["form_id"],
                version=form.cleaned_data["version"],
                title=form.cleaned_data["title"],
            )
        obj.pk, obj.mapping = saved.pk, saved.mapping

    def _changeform_view(
        self, request: HttpRequest, object_id: Any, form_url: str, extra_context: Any
    ) -> Any:
        try:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        form = self.get_object(request, object_id)
        if form is not None:
            extra_context["field_imports"] = list(field_import_list(user=request.user, form=form)[:20])
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/xlsform/", view(self.xlsform_view), name="intake_fieldform_xlsform"),
            path("<path:object_id>/import/", view(self.import_view), name="intake_fieldform_import"),
            *super().get_urls(),
        ]

    def _form(self, request: HttpRequest, object_id: str) -> FieldForm:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            return get_object_or_404(self.get_queryset(request), pk=int(object_id))
        except ValueError:
            raise PermissionDenied from None

    def xlsform_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The form as an XLSForm (XLSX) to load into ODK Central or KoboToolbox."""
        form = self._form(request, object_id)
        content = io.BytesIO()
        xlsform_write(
            content, plan=form.benefit_plan, form_id=form.form_id, version=form.version, title=form.title
        )
        response = HttpResponse(content.getvalue(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            True, f"{form.form_id}-v{form.version}.xlsx"
        )
        return response

    def import_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Upload an export of the form: converted, then validated as an upload batch."""
        form = self._form(request, object_id)
        if not (
            self.has_change_permission(request, form)
            and user_can_manage_plan(request.user, form.benefit_plan)
        ):
            raise PermissionDenied
        upload_form = FieldImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and upload_form.is_valid():
            files = [upload_form.cleaned_data["export"]]
            if upload_form.cleaned_data.get("members"):
                files.append(upload_form.cleaned_data["members"])
            try:
                batch = field_import(
                    user=request.user,
                    form=form,
                    files=files,
                    duplicate_mode=upload_form.cleaned_data["duplicate_mode"],
                )
            except ValidationError as exc:
                upload_form.add_error("export", error_text(exc))
            else:
                self.message_user(
                    request,
                    _gettext("%(batch)s was received from the export; it is being validated.")
                    % {"batch": batch},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:uploads_importbatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import an export of %(form)s") % {"form": form},
            "opts": self.model._meta,
            "original": form,
            "form": upload_form,
            "mapping_url": reverse("admin:intake_fieldform_change", args=[form.pk]),
        }
        return TemplateResponse(request, "intake/import.html", context)
