"""The custom-field schemas in the admin: the fields form (no JSON), the raw schema read-only, how many
records lack each required field."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.history import ScopedHistoryAdmin
from registry.admin.custom_fields import custom_fields_page
from registry.forms import IndentedJSONField, RegistrySchemaForm
from registry.models import RegistrySchema
from registry.schemas import EMPTY_SCHEMA, MODEL_BY_KIND, records_missing_required, schema_fields
from registry.services import registry_schema_save


@admin.register(RegistrySchema)
class RegistrySchemaAdmin(ScopedHistoryAdmin):
    form = RegistrySchemaForm
    list_display = ["__str__", "field_count", "updated_at"]
    readonly_fields = ["fields_overview", "missing_required", "raw_schema", "updated_at"]
    change_form_template = "admin/registry/registryschema/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["kind"]
        return ["kind", "fields_overview", "missing_required", "raw_schema", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(self.readonly_fields)
        if obj is not None:
            readonly.append("kind")
        return readonly

    def get_urls(self):  # type: ignore[no-untyped-def]
        urls = [
            path(
                "<int:object_id>/fields/",
                self.admin_site.admin_view(self.fields_view),
                name="registry_registryschema_fields",
            ),
        ]
        return urls + super().get_urls()

    def fields_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The custom fields as a form: it writes the schema through `registry_schema_save`."""
        record = self.get_queryset(request).filter(pk=object_id).first()
        if record is None:
            raise Http404(_("No such schema."))
        if not self.has_view_or_change_permission(request, record):
            raise PermissionDenied
        editable = self.has_change_permission(request, record)
        if request.method == "POST" and not editable:
            raise PermissionDenied

        def save(schema: dict[str, Any]) -> str:
            self._warn_missing_required(request, registry_schema_save(kind=record.kind, schema=schema))
            return _("The custom fields of %(kind)s are saved.") % {"kind": record.get_kind_display().lower()}

        done = reverse("admin:registry_registryschema_change", args=[record.pk])
        return custom_fields_page(
            request,
            context={
                **self.admin_site.each_context(request),
                "title": _("Custom fields of %(kind)s") % {"kind": record.get_kind_display().lower()},
                "owner": record,
                "opts": self.model._meta,
            },
            schema=record.schema,
            records=MODEL_BY_KIND[record.kind].objects.all(),
            save=save,
            done_url=done,
            editable=editable,
        )

    @admin.display(description=gettext_lazy("JSON Schema (read-only)"))
    def raw_schema(self, obj: RegistrySchema) -> str:
        return format_html("<pre>{}</pre>", IndentedJSONField().prepare_value(obj.schema))

    @admin.display(description="fields")
    def field_count(self, obj: RegistrySchema) -> int:
        return len(obj.schema.get("properties", {}))

    @admin.display(description="fields")
    def fields_overview(self, obj: RegistrySchema) -> str:
        fields = schema_fields(obj.schema)
        if not fields:
            return "No custom fields yet."
        rows = []
        for field in fields:
            detail = field.type
            if field.choices:
                detail = "choice of " + ", ".join(field.choices)
            elif field.format:
                detail = field.format
            bounds = [
                f"≥ {field.minimum}" if field.minimum is not None else "",
                f"≤ {field.maximum}" if field.maximum is not None else "",
            ]
            rows.append(
                (
                    field.label,
                    field.name,
                    " ".join(filter(None, [detail, *bounds])),
                    "required" if field.required else "optional",
                )
            )
        return format_html(
            "<table><thead><tr><th>Label</th><th>Key</th><th>Type</th><th></th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="existing records without a required field")
    def missing_required(self, obj: RegistrySchema) -> str:
        required = obj.schema.get("required", [])
        if not required:
            return "No field is required."
        rows = [(name, records_missing_required(obj.kind, name)) for name in required]
        return format_html_join(
            mark_safe("<br>"),
            "<code>{}</code>: {} record(s) have no value (it is asked for at their next edit)",
            ((name, f"{count:,}") for name, count in rows),
        )

    def save_model(self, request: HttpRequest, obj: RegistrySchema, form: Any, change: bool) -> None:
        current = RegistrySchema.objects.filter(kind=obj.kind).values_list("schema", flat=True).first()
        saved = registry_schema_save(kind=obj.kind, schema=current or EMPTY_SCHEMA)
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False
        self._warn_missing_required(request, saved)

    def _warn_missing_required(self, request: HttpRequest, saved: RegistrySchema) -> None:
        for name in saved.schema.get("required", []):
            missing = records_missing_required(saved.kind, name)
            if missing:
                self.message_user(
                    request,
                    _(
                        "%(count)s existing record(s) have no value for the required field %(name)s; "
                        "their stored data is unchanged and the field is asked for when they are next edited."
                    )
                    % {"count": f"{missing:,}", "name": repr(name)},
                    messages.WARNING,
                )
