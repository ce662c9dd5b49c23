"""Locations and their levels in the admin."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registry.models import Location, LocationLevel
from registry.selectors import location_list


@admin.register(LocationLevel)
class LocationLevelAdmin(SimpleHistoryAdmin):
    list_display = ["depth", "name"]


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "depth", "parent"]
    list_select_related = ["parent"]
    list_filter = ["depth"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "depth"]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return location_list(user=request.user).select_related("parent")
