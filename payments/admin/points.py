"""Payment cycles and payment points in the admin; a point's API key is made on its own page, shown once."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.http import HttpRequest

from access.history import ScopedHistoryAdmin
from identity.apikey_admin import ApiKeyAdminMixin
from identity.apikeys import request_address
from payments.models import PaymentCycle, PaymentPoint
from payments.services import payment_point_key_rotate


@admin.register(PaymentCycle)
class PaymentCycleAdmin(ScopedHistoryAdmin):
    list_display = ("code", "name", "start_date", "end_date")
    search_fields = ("code", "name")


@admin.register(PaymentPoint)
class PaymentPointAdmin(ApiKeyAdminMixin, ScopedHistoryAdmin):
    list_display = ("name", "point_type", "is_active", "api_key_prefix", "key_last_used_at")
    list_filter = ("point_type", "is_active")
    search_fields = ("name",)
    raw_id_fields = ("locations",)
    readonly_fields = ("api_key", "key_last_used_at", "previous_key_until")

    def key_rotate(self, request: HttpRequest, holder: PaymentPoint, overlap: timedelta) -> str:
        return payment_point_key_rotate(
            user=request.user, payment_point=holder, overlap=overlap, address=request_address(request)
        )
