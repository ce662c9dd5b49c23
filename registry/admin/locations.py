"""Locations and their levels in the admin, with CSV/XLSX import and export of the tree."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ImportExportMixin
from import_export.results import Result

from access.history import ScopedHistoryAdmin
from files.formats import FORMATS, BoundedImportForm
from registry.models import Location, LocationLevel
from registry.resources import LocationResource, location_import_problems
from registry.selectors import location_list


@admin.register(LocationLevel)
class LocationLevelAdmin(ScopedHistoryAdmin):
    list_display = ["depth", "name"]


@admin.register(Location)
class LocationAdmin(ImportExportMixin, ScopedHistoryAdmin):
    resource_classes = [LocationResource]
    # Files are read within the upload limits and written by the one spreadsheet writer.
    import_formats = export_formats = FORMATS
    import_form_class = BoundedImportForm
    list_display = ["name", "code", "depth", "parent"]
    list_select_related = ["parent"]
    list_filter = ["depth"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "depth"]
    import_error_display = ("message",)

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return location_list(user=request.user).select_related("parent")

    def process_result(self, result: Result, request: HttpRequest) -> HttpResponse:
        """The confirm step checks the file again: if the tree changed since, say why nothing was written."""
        problems = location_import_problems(result)
        if problems:
            for problem in problems:
                self.message_user(request, problem, messages.ERROR)
            self.message_user(request, "Nothing was imported.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:registry_location_import"))
        return super().process_result(result, request)

    def get_import_data_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}
