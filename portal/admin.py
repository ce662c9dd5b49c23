"""User administration: a complete user (account, roles, profile and location scope) on one page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from access.history import ScopedHistoryAdmin
from identity.admin import two_factor_reset_selected
from portal.models import UserProfile


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
