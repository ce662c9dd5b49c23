"""Admin screens of the registry."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registry.models import Household, HouseholdMember, IdentityDocument, Individual, Location, LocationLevel
from registry.selectors import household_list, individual_list, location_list


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


class IdentityDocumentInline(admin.TabularInline):
    model = IdentityDocument
    extra = 0


class MembershipInline(admin.TabularInline):
    model = HouseholdMember
    extra = 0
    autocomplete_fields = ["individual", "household"]


@admin.register(Individual)
class IndividualAdmin(SimpleHistoryAdmin):
    list_display = ["family_name", "given_name", "sex", "birth_date", "location", "status"]
    list_select_related = ["location"]
    list_filter = ["sex", "status"]
    search_fields = ["family_name", "given_name", "=documents__value"]
    autocomplete_fields = ["location"]
    show_full_result_count = False
    inlines = [IdentityDocumentInline, MembershipInline]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return individual_list(user=request.user)


@admin.register(Household)
class HouseholdAdmin(SimpleHistoryAdmin):
    list_display = ["code", "location", "address"]
    list_select_related = ["location"]
    search_fields = ["=code"]
    autocomplete_fields = ["location"]
    show_full_result_count = False
    inlines = [MembershipInline]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return household_list(user=request.user)
