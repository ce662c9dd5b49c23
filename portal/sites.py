"""The admin site that is the portal: branding, a sidebar grouped by the delivery chain, the dashboard."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

SECTIONS = ("Registry", "Programmes", "Payments", "Approvals", "Grievances", "Reports", "Administration")
SECTION_BY_APP = {
    "registry": "Registry",
    "uploads": "Registry",
    "intake": "Registry",
    "programs": "Programmes",
    "payments": "Payments",
    "approvals": "Approvals",
    "grievances": "Grievances",
    "reports": "Reports",
}
# Models whose app is not their place on the delivery chain.
SECTION_BY_MODEL = {
    ("programs", "paymentplan"): "Payments",
    ("programs", "paymentcycle"): "Payments",
    ("programs", "paymentpoint"): "Payments",
    ("programs", "payroll"): "Payments",
    ("programs", "benefit"): "Payments",
    ("portal", "report"): "Reports",
}


def action_checkbox(model_admin: admin.ModelAdmin, obj: Any) -> str:
    """A list row's selection checkbox: the HTML Django's CheckboxInput renders (tests compare them), written
    with format_html instead of three widget templates per row, which cost a fifth of a 50-row list page."""
    return format_html(
        '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
        helpers.ACTION_CHECKBOX_NAME,
        str(obj.pk),
        format_html(_("Select this object for an action - {}"), str(obj)),
    )


class PortalAdminSite(admin.AdminSite):
    site_header = "Social Protection Portal"
    site_title = "Social Protection Portal"
    index_title = "Dashboard"
    index_template = "portal/dashboard.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """Regroup the apps' models into the delivery-chain sections, in chain order; built once per request
        (the sidebar and the dashboard both show it: each model's permissions are asked once)."""
        built: dict[str | None, list[dict[str, Any]]] = request.__dict__.setdefault("_portal_app_lists", {})
        if app_label not in built:
            key = self._app_list_cache_key(request, app_label)
            app_list = cache.get(key) if key else None
            if app_list is None:
                app_list = self._app_list_build(request, app_label)
                for app in app_list:  # names in this language (in the key): lazy text does not pickle
                    app["name"] = str(app["name"])
                    for model in app["models"]:
                        model["name"] = str(model["name"])
                if key:
                    cache.set(key, app_list, settings.PORTAL_APP_LIST_CACHE_SECONDS)
            built[app_label] = app_list
        return built[app_label]

    @staticmethod
    def _app_list_cache_key(request: HttpRequest, app_label: str | None) -> str | None:
        """The sidebar of every page is the same for a user in a language while their roles stay: asking
        each model admin's permissions (and the importable plans) for it cost a tenth of a page. Kept
        PORTAL_APP_LIST_CACHE_SECONDS, keyed by the roles in force: a role given or taken changes the key; an
        object permission shows within those seconds (the pages themselves check it on every request)."""
        from access.roles import user_holds_every_role, user_role_ids_held

        user = request.user
        seconds = settings.PORTAL_APP_LIST_CACHE_SECONDS
        if not seconds or not user.is_authenticated or request.method not in ("GET", "HEAD"):
            return None
        roles = ".".join(str(pk) for pk in user_role_ids_held(user))
        joined = user.date_joined.timestamp()  # type: ignore[union-attr]
        return (
            f"portal:app-list:{user.pk}:{joined}:{int(user_holds_every_role(user))}:"
            f"{get_language()}:{app_label or ''}:{roles}"
        )

    def _app_list_build(self, request: HttpRequest, app_label: str | None) -> list[dict[str, Any]]:
        app_list = super().get_app_list(request, app_label)
        if app_label:
            return app_list
        sections: dict[str, dict[str, Any]] = {}
        for app in app_list:
            for model in app["models"]:
                key = (app["app_label"], model["object_name"].lower())
                name = SECTION_BY_MODEL.get(key) or SECTION_BY_APP.get(app["app_label"], "Administration")
                section = sections.setdefault(
                    name,
                    {
                        "name": name,
                        "app_label": app["app_label"],
                        "app_url": app["app_url"],
                        "has_module_perms": True,
                        "models": [],
                    },
                )
                section["models"].append(model)
        if "Registry" in sections and request.user.has_perm("registry.view_individual"):
            from registry.views import search_app_list_entries

            sections["Registry"]["models"].extend(search_app_list_entries(request))
        if "Administration" in sections:
            from portal.grant_views import grant_app_list_entries

            sections["Administration"]["models"].extend(grant_app_list_entries(request))
        return [sections[name] for name in SECTIONS if name in sections]

    def get_urls(self):  # type: ignore[no-untyped-def]
        from django.urls import include, path

        from portal.dashboard import dashboard_refresh_view
        from portal.grant_views import holdings_view, user_audit_view
        from registry.urls import search_urls

        return [
            path("registry/search/", include(search_urls(self))),
            path("grants/", self.admin_view(holdings_view), name="portal_grants"),
            path("grants/audit/", self.admin_view(user_audit_view), name="portal_user_audit"),
            path(
                "dashboard/refresh/", self.admin_view(dashboard_refresh_view), name="portal_dashboard_refresh"
            ),
            *super().get_urls(),
        ]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        from functools import cache

        from approvals.selectors import pending_approvals_count_once, pending_count_display

        context = super().each_context(request)
        # A callable: the template runs the one bounded count only where it shows it ("99+" past the cap).
        context["pending_approvals_count"] = cache(
            lambda: pending_count_display(pending_approvals_count_once(request.user))
        )
        return context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from portal.dashboard import dashboard_context

        context = {**dashboard_context(request), **(extra_context or {})}
        response = super().index(request, context)
        assert isinstance(response, TemplateResponse)
        return response
