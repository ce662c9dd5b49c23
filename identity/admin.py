"""Identity in the admin: which roles need two factors, the sign-in audit trail, resetting a user's two factors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.history import ScopedHistoryAdmin
from access.roles import ADMINISTRATOR, user_in_roles
from files.spreadsheets import CSV_CONTENT_TYPE, csv_stream
from identity.hooks import location_codes_unknown
from identity.models import DirectoryIdentity, DirectoryRoleMapping, RoleGrant, RoleSecurity, SignInEvent
from identity.policy import two_factor_default_roles
from identity.services import role_grant_revoke, role_grant_save, two_factor_reset

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


class GrantStateFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("ending", _("ends within 7 days")),
            ("ended", _("ended")),
            ("future", _("not started yet")),
            ("open", _("no end")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        return {
            "ending": lambda: queryset.filter(ends_on__gte=today, ends_on__lte=today + timedelta(days=7)),
            "ended": lambda: queryset.filter(ends_on__lt=today),
            "future": lambda: queryset.filter(starts_on__gt=today),
            "open": lambda: queryset.filter(ends_on__isnull=True),
        }.get(self.value() or "", lambda: queryset)()


GRANT_EXPORT_HEADERS = ("user", "name", "role", "from", "until", "in force", "granted by")


@admin.action(description=_("Export the selected grants (CSV)"))
def role_grants_export(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> Any:
    """Who holds what, until when: through the one safe writer, streamed."""
    today = timezone.localdate()
    rows = (
        (
            grant.user.get_username(),
            grant.user.get_full_name(),
            grant.role.name,
            grant.starts_on or "",
            grant.ends_on or "",
            _("yes") if grant.in_force(today) else _("no"),
            grant.granted_by.get_username() if grant.granted_by else "",
        )
        for grant in queryset.select_related("user", "role", "granted_by")
        .order_by("user__username")
        .iterator()
    )
    response = StreamingHttpResponse(
        csv_stream([str(header) for header in GRANT_EXPORT_HEADERS], rows), content_type=CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="role-grants-{today.isoformat()}.csv"'
    return response


@admin.register(RoleGrant)
class RoleGrantAdmin(ScopedHistoryAdmin):
    """Who holds which role, from when and until when; giving, changing and taking roles go through services."""

    list_display = ["user", "role", "starts_on", "ends_on", "in_force_now", "source", "granted_by"]
    list_filter = [GrantStateFilter, "role", "source"]
    list_select_related = ["user", "role", "granted_by"]
    search_fields = ["user__username__exact"]
    search_help_text = _("The exact user name.")
    autocomplete_fields = ["user"]
    fields = ["user", "role", "starts_on", "ends_on"]
    actions = [role_grants_export]
    ordering = ["ends_on", "user__username"]

    @admin.display(description=_("in force today"), boolean=True)
    def in_force_now(self, obj: RoleGrant) -> bool:
        return obj.in_force(timezone.localdate())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "role"] if obj else []

    def save_model(self, request: HttpRequest, obj: RoleGrant, form: Any, change: bool) -> None:
        saved = role_grant_save(
            user=obj.user,
            role=obj.role,
            starts_on=obj.starts_on,
            ends_on=obj.ends_on,
            actor=request.user,
            grant=RoleGrant.objects.get(pk=obj.pk) if change else None,
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: RoleGrant) -> None:
        role_grant_revoke(grant=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for grant in queryset.select_related("user", "role"):
            role_grant_revoke(grant=grant, actor=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return user_in_roles(request.user, (ADMINISTRATOR,))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_in_roles(request.user, (ADMINISTRATOR,))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_in_roles(request.user, (ADMINISTRATOR,))


class DirectoryRoleMappingForm(forms.ModelForm):
    class Meta:
        model = DirectoryRoleMapping
        fields = ["claim_value", "role", "location_codes"]

    def clean_claim_value(self) -> str:
        return self.cleaned_data["claim_value"].strip()

    def clean_location_codes(self) -> str:
        codes = [code.strip() for code in self.cleaned_data["location_codes"].split(",") if code.strip()]
        unknown = location_codes_unknown(codes)
        if unknown:
            raise forms.ValidationError(
                _("No location has the code: %(codes)s.") % {"codes": ", ".join(unknown)}
            )
        return ", ".join(dict.fromkeys(codes))


@admin.register(DirectoryRoleMapping)
class DirectoryRoleMappingAdmin(ScopedHistoryAdmin):
    """Single sign-on: which value of the directory's role claim gives which role and locations."""

    form = DirectoryRoleMappingForm
    list_display = ["claim_value", "role", "location_codes"]
    list_select_related = ["role"]
    list_filter = ["role"]
    search_fields = ["claim_value__exact"]
    search_help_text = _("The exact claim value, as the directory sends it.")
    autocomplete_fields = ["role"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "subtitle": _(
                "Claim %(claim)s of the directory's ID token or user information is read at each "
                "single sign-on; a user none of whose values gives a role here is refused."
            )
            % {"claim": settings.OIDC_ROLES_CLAIM},
        }
        return super().changelist_view(request, extra_context)


@admin.register(DirectoryIdentity)
class DirectoryIdentityAdmin(ScopedHistoryAdmin):
    """Which directory account signs in as which portal user: made at the first single sign-on, or added
    here to link an existing portal account; deleting one unlinks it."""

    list_display = ["user", "subject", "issuer", "linked_at", "last_sign_in_at"]
    list_select_related = ["user"]
    search_fields = ["user__username__exact"]
    search_help_text = _("The exact user name.")
    autocomplete_fields = ["user"]
    fields = ["user", "issuer", "subject", "linked_at", "last_sign_in_at"]
    readonly_fields = ["linked_at", "last_sign_in_at"]
    show_full_result_count = False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"issuer": settings.OIDC_ISSUER, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "user", "issuer", "subject"] if obj else list(self.readonly_fields)


# The API-key trail and the key pages of every holder (registered there, beside the mixin).
from identity import apikey_admin  # noqa: E402, F401
