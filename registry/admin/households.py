"""Households in the admin."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registry.admin.individuals import MembershipInline
from registry.models import Household
from registry.selectors import household_list


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
