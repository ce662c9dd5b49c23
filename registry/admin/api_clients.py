"""Registry API clients in the admin: scope, rate and key limits on the form; a key made on its own page and
shown once (identity's key page); the read-only trail of each client's calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from access.history import ScopedHistoryAdmin
from identity.apikey_admin import ApiKeyAdminMixin
from identity.apikeys import request_address
from registry.api_clients import RegistryApiCall, RegistryApiClient, registry_api_client_key_rotate


@admin.register(RegistryApiClient)
class RegistryApiClientAdmin(ApiKeyAdminMixin, ScopedHistoryAdmin):
    list_display = ("name", "access", "is_active", "api_key_prefix", "key_expires_at", "key_last_used_at")
    list_filter = ("access", "is_active")
    search_fields = ("name__exact",)  # the unique index
    autocomplete_fields = ("locations", "acting_user")
    readonly_fields = ("api_key", "key_last_used_at", "previous_key_until", "calls")
    fieldsets = (
        (None, {"fields": ("name", "access", "locations", "acting_user", "rate_per_minute", "is_active")}),
        (
            _("API key"),
            {
                "fields": (
                    "api_key",
                    "key_expires_at",
                    "allowed_networks",
                    "key_last_used_at",
                    "previous_key_until",
                )
            },
        ),
        (_("Calls"), {"fields": ("calls",)}),
    )

    def key_rotate(self, request: HttpRequest, holder: RegistryApiClient, overlap: timedelta) -> str:
        return registry_api_client_key_rotate(
            user=request.user, client=holder, overlap=overlap, address=request_address(request)
        )

    @admin.display(description=_("Calls"))
    def calls(self, obj: RegistryApiClient) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:registry_registryapicall_changelist") + f"?client__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("This client's calls"))


@admin.register(RegistryApiCall)
class RegistryApiCallAdmin(admin.ModelAdmin):
    """The call trail: read-only; filterable per client and status."""

    list_display = (
        "at",
        "client",
        "method",
        "path",
        "query",
        "status",
        "records",
        "duration_ms",
        "ip_address",
    )
    list_filter = ("client",)  # the clients (few); never a DISTINCT over the calls
    list_select_related = ("client",)
    show_full_result_count = False
    date_hierarchy = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
