"""Individuals in the admin."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registry.models import HouseholdMember, IdentityDocument, Individual
from registry.selectors import individual_list


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
