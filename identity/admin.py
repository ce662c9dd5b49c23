"""Identity in the admin: which roles need two factors, the sign-in audit trail, resetting a user's two factors."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.history import ScopedHistoryAdmin
from access.roles import ADMINISTRATOR, user_in_roles
from identity.models import RoleSecurity, SignInEvent
from identity.policy import two_factor_default_roles
from identity.services import two_factor_reset

# Devices change only through identity.services (enrolment, reset), which write the audit trail.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(RoleSecurity)
class RoleSecurityAdmin(ScopedHistoryAdmin):
    list_display = ["role", "two_factor_required"]
    list_select_related = ["role"]
    autocomplete_fields = ["role"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "subtitle": _(
                "Roles without a rule here require two-factor sign-in when they are one of: %(roles)s."
            )
            % {"roles": ", ".join(two_factor_default_roles())},
        }
        return super().changelist_view(request, extra_context)


@admin.register(SignInEvent)
class SignInEventAdmin(admin.ModelAdmin):
    """The sign-in audit trail: read-only, filterable by event and searchable by user name."""

    list_display = ["at", "kind", "username", "actor", "ip_address", "detail"]
    list_filter = ["kind", ("at", admin.DateFieldListFilter)]
    list_select_related = ["actor"]
    search_fields = ["username__exact"]
    search_help_text = _("The exact user name.")
    date_hierarchy = None
    show_full_result_count = False
    raw_id_fields = ["user", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description=_("Reset two-factor sign-in of the selected users"))
def two_factor_reset_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> Any:
    """A safe bulk action (as admin's delete_selected): a confirmation page, a permission re-check, the reset."""
    if not user_in_roles(request.user, (ADMINISTRATOR,)):
        raise PermissionDenied
    users = list(queryset.exclude(pk=request.user.pk)[:100])
    if request.POST.get("post") == "yes":
        for user in users:
            two_factor_reset(user=user, actor=request.user, request=request)
        modeladmin.message_user(
            request,
            ngettext(
                "Two-factor sign-in reset for %(count)d user: they will set it up again at their next sign-in.",
                "Two-factor sign-in reset for %(count)d users: they will set it up again at their next sign-in.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Reset two-factor sign-in"),
        "users": users,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "self_excluded": queryset.filter(pk=request.user.pk).exists(),
    }
    return TemplateResponse(request, "identity/two_factor_reset_confirm.html", context)
