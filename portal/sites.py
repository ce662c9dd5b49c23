"""The admin site that is the portal: branding, a sidebar grouped by the delivery chain, the dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

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


class PortalAdminSite(admin.AdminSite):
    site_header = "Social Protection Portal"
    site_title = "Social Protection Portal"
    index_title = "Dashboard"
    index_template = "portal/dashboard.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """Regroup the apps' models into the delivery-chain sections, in chain order."""
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
        return [sections[name] for name in SECTIONS if name in sections]

    def get_urls(self):  # type: ignore[no-untyped-def]
        from django.urls import include, path

        from portal.dashboard import dashboard_refresh_view
        from registry.urls import search_urls

        return [
            path("registry/search/", include(search_urls(self))),
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
