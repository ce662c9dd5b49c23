"""The custom-field schemas in the admin: a checked JSON editor; how many records lack each required field."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from access.history import ScopedHistoryAdmin
from registry.forms import RegistrySchemaForm
from registry.models import RegistrySchema
from registry.schemas import records_missing_required, schema_fields
from registry.services import registry_schema_save


@admin.register(RegistrySchema)
class RegistrySchemaAdmin(ScopedHistoryAdmin):
    form = RegistrySchemaForm
    list_display = ["__str__", "field_count", "updated_at"]
    readonly_fields = ["fields_overview", "missing_required", "updated_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["kind", "schema"]
        return ["kind", "fields_overview", "missing_required", "schema", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(self.readonly_fields)
        if obj is not None:
            readonly.append("kind")
        return readonly

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
        saved = registry_schema_save(kind=obj.kind, schema=form.cleaned_data["schema"])
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False
        for name in saved.schema.get("required", []):
            missing = records_missing_required(saved.kind, name)
            if missing:
                self.message_user(
                    request,
                    f"{missing:,} existing record(s) have no value for the required field {name!r}; "
                    "their stored data is unchanged and the field is asked for when they are next edited.",
                    messages.WARNING,
                )
