"""Shared by the individual and household admins: no full COUNT, 404 outside scope, maker-checker edits."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.history import ScopedHistoryAdmin
from registry.selectors import location_list, match_count

NOTHING_CHANGED = "nothing"


class EstimatedCountPaginator(Paginator):
    """Never a full COUNT(*) of a big table.

    On PostgreSQL the planner's estimate of the filtered query (EXPLAIN, no
    rows read) is the count once it is above `exact_below`; small results,
    and other databases, are counted exactly but never past `cap` + 1 rows
    (`SELECT count(*) FROM (... LIMIT cap + 1)`). The pages say "about" when
    the count is an estimate.
    """

    exact_below = 1_000
    cap = 10_000
    is_estimate = False

    @cached_property
    def count(self) -> int:
        counted = match_count(self.object_list, exact_below=self.exact_below, cap=self.cap)
        self.is_estimate = counted.is_estimate
        return counted.count + (1 if counted.is_capped else 0)


class RegistryRecordAdmin(ScopedHistoryAdmin):
    """Change pages 404 outside the user's locations; edits of existing records go through `registry.update`.

    New records are created directly through the services (registering people
    is the registry officer's job); every later edit is a change request: the
    approval policy of `registry.update` decides whether it waits for a
    checker or runs at once, and either way it is recorded as a task.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    export_dataset = ""  # "individual" or "household": the columns of the export
    actions = ["export_csv", "export_xlsx"]

    def custom_fieldsets(self, obj: Any) -> list[tuple[str, dict[str, Any]]]:
        """The custom fields by section, then the values of removed fields (kept, shown read-only)."""
        from registry.forms import custom_fieldsets, removed_custom_values

        fieldsets = custom_fieldsets(self.export_dataset)
        if obj is not None and removed_custom_values(self.export_dataset, obj.data):
            fieldsets.append((_("Removed fields"), {"fields": ["removed_fields"]}))
        return fieldsets

    @admin.display(description=gettext_lazy("values kept"))
    def removed_fields(self, obj: Any) -> str:
        from registry.forms import removed_custom_values

        rows = [
            (key, ", ".join(map(str, value)) if isinstance(value, list) else value)
            for key, value in removed_custom_values(self.export_dataset, obj.data if obj else {})
        ]
        return format_html_join(
            mark_safe("<br>"),
            '<span class="removed-field"><code>{}</code>: {} <em>('
            + str(_("removed field"))
            + ")</em></span>",
            rows,
        )

    def _export(self, request: HttpRequest, queryset: Any, file_format: str) -> Any:
        # The action's queryset is already scoped and filtered (all pages with "select all").
        from registry.exports import export_response
        from registry.schemas import schema_for

        return export_response(
            self.export_dataset, file_format, queryset.order_by(), schema_for(self.export_dataset)
        )

    @admin.action(description="Export selected to CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: Any) -> Any:
        return self._export(request, queryset, "csv")

    @admin.action(description="Export selected to Excel (XLSX)", permissions=["view"])
    def export_xlsx(self, request: HttpRequest, queryset: Any) -> Any:
        return self._export(request, queryset, "xlsx")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "location":
            kwargs["queryset"] = location_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id} among yours.")
        return obj

    # Subclasses write: creation through the services, and the change request.
    def create_record(self, request: HttpRequest, obj: Any, form: Any) -> Any:
        raise NotImplementedError

    def create_related(self, request: HttpRequest, obj: Any, formsets: list[Any]) -> None:
        raise NotImplementedError

    def request_change(self, request: HttpRequest, obj: Any, form: Any, formsets: list[Any]) -> Any:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # an edit is requested in save_related, once the inlines are known
        created = self.create_record(request, obj, form)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: list[Any], change: bool) -> None:
        for formset in formsets:  # the inlines are written by the services, not formset.save()
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not change:
            self.create_related(request, form.instance, formsets)
            return
        try:
            request._registry_task = (
                self.request_change(request, form.instance, form, formsets) or NOTHING_CHANGED
            )
        except ValidationError as exc:
            request._registry_task = exc

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        task = getattr(request, "_registry_task", None)
        if task is NOTHING_CHANGED or isinstance(task, ValidationError):
            return None
        if task is not None and task.state != "executed":
            message = [{"changed": {"fields": [f"change requested: task #{task.pk}"]}}]
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        task = getattr(request, "_registry_task", None)
        if task is None:
            return super().response_change(request, obj)
        if isinstance(task, ValidationError):
            self.message_user(request, " ".join(task.messages), messages.ERROR)
        elif task is NOTHING_CHANGED:
            self.message_user(request, "Nothing was changed.", messages.INFO)
        elif task.state == "executed":
            self.message_user(
                request,
                f"The change to {obj} was saved (task #{task.pk}, no approval needed).",
                messages.SUCCESS,
            )
        elif task.state == "failed":
            self.message_user(request, f"The change to {obj} failed: {task.error}", messages.ERROR)
        else:
            self.message_user(
                request, f"Your change is waiting for approval (task #{task.pk}).", messages.WARNING
            )
        if "_continue" in request.POST or isinstance(task, ValidationError):
            url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        else:
            url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return HttpResponseRedirect(url)
