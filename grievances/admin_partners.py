"""API partners in the admin: a partner's key is made on its own page and shown once (as payment points')."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.http import HttpRequest

from access.history import ScopedHistoryAdmin
from grievances.partners import GrievancePartner, partner_key_rotate
from identity.apikey_admin import ApiKeyAdminMixin
from identity.apikeys import request_address


@admin.register(GrievancePartner)
class GrievancePartnerAdmin(ApiKeyAdminMixin, ScopedHistoryAdmin):
    list_display = ("name", "channel", "is_active", "api_key_prefix", "key_last_used_at")
    list_filter = ("channel", "is_active")
    search_fields = ("name__exact",)
    readonly_fields = ("api_key", "key_last_used_at", "previous_key_until")

    def key_rotate(self, request: HttpRequest, holder: GrievancePartner, overlap: timedelta) -> str:
        return partner_key_rotate(
            user=request.user, partner=holder, overlap=overlap, address=request_address(request)
        )
