"""User administration: a complete user (account, roles, profile and location scope) on one page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access.history import ScopedHistoryAdmin
from access.roles import ADMINISTRATOR, user_in_roles
from identity.admin import GrantStateFilter, two_factor_reset_selected
from portal.grants import scope_grant_revoke, scope_grant_save
from portal.models import ScopeGrant, UserProfile


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    fk_name = "user"
    can_delete = False
    extra = 1
    max_num = 1
    min_num = 1  # every user made here gets a profile, so their scope is visible and editable
    fields = ["phone", "preferred_language", "supervisor", "locations"]
    autocomplete_fields = ["locations", "supervisor"]
    verbose_name = "Profile and location scope"
    verbose_name_plural = "Profile and location scope"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [UserProfileInline]
    add_form_template = "portal/user_add_form.html"
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        (
            "Roles",
            {
                "fields": ("is_active", "is_staff", "groups"),
                "description": "Roles give permissions; staff status lets the user sign in.",
            },
        ),
    )
    list_display = ["username", "first_name", "last_name", "email", "role_names", "is_active", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    actions = [two_factor_reset_selected]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"is_staff": True, "is_active": True, **super().get_changeform_initial_data(request)}

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        UserProfile.objects.get_or_create(user=form.instance)

    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())


@admin.register(UserProfile)
class UserProfileAdmin(ScopedHistoryAdmin):
    list_display = ["user", "phone", "preferred_language"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]  # one table, indexed
    autocomplete_fields = ["user", "locations", "supervisor"]


class ScopeGrantForm(forms.ModelForm):
    class Meta:
        model = ScopeGrant
        fields = ["user", "location", "benefit_plan", "starts_on", "ends_on"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("A grant cannot end before it starts."))
        if not self.instance.pk and bool(cleaned.get("location")) == bool(cleaned.get("benefit_plan")):
            self.add_error("location", _("Give either a location or a benefit plan."))
        return cleaned

    def validate_constraints(self, exclude: Any = None) -> None:
        return None  # the service checks them, and the field errors above say it first


@admin.register(ScopeGrant)
class ScopeGrantAdmin(ScopedHistoryAdmin):
    """Which locations and plans a user is scoped to, from when and until when; writes go through services."""

    form = ScopeGrantForm
    list_display = ["user", "kind", "target_display", "starts_on", "ends_on", "in_force_now", "granted_by"]
    list_filter = [GrantStateFilter, "kind"]
    list_select_related = ["user", "location", "benefit_plan", "granted_by"]
    search_fields = ["user__username__exact"]
    search_help_text = _("The exact user name.")
    autocomplete_fields = ["user", "location", "benefit_plan"]
    ordering = ["ends_on", "user__username"]
    show_full_result_count = False

    @admin.display(description=_("scope"))
    def target_display(self, obj: ScopeGrant) -> str:
        return str(obj.target)

    @admin.display(description=_("in force today"), boolean=True)
    def in_force_now(self, obj: ScopeGrant) -> bool:
        return obj.in_force(timezone.localdate())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "location", "benefit_plan"] if obj else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "location", "benefit_plan", "starts_on", "ends_on"]

    def save_model(self, request: HttpRequest, obj: ScopeGrant, form: Any, change: bool) -> None:
        current = ScopeGrant.objects.get(pk=obj.pk) if change else None
        saved = scope_grant_save(
            user=current.user if current else obj.user,
            location=current.location if current else obj.location,
            benefit_plan=current.benefit_plan if current else obj.benefit_plan,
            starts_on=obj.starts_on,
            ends_on=obj.ends_on,
            actor=request.user,
            grant=current,
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ScopeGrant) -> None:
        scope_grant_revoke(grant=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for grant in queryset:
            scope_grant_revoke(grant=grant, actor=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return user_in_roles(request.user, (ADMINISTRATOR,))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_in_roles(request.user, (ADMINISTRATOR,))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_in_roles(request.user, (ADMINISTRATOR,))
