"""URLs of the advanced search, mounted by the admin site under /admin/registry/search/ behind its login."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import URLPattern, path
from django.views.generic import RedirectView

from registry import views


def search_urls(site: AdminSite) -> list[URLPattern]:
    wrap = site.admin_view
    return [
        path("", wrap(RedirectView.as_view(pattern_name="admin:registry_search", query_string=True))),
        path("individuals/", wrap(views.search_view), {"dataset": "individual"}, name="registry_search"),
        path(
            "households/",
            wrap(views.search_view),
            {"dataset": "household"},
            name="registry_search_households",
        ),
        path("<str:dataset>/saved/", wrap(views.saved_search_create_view), name="registry_search_save"),
        path("<str:dataset>/columns/", wrap(views.search_columns_view), name="registry_search_columns"),
        path(
            "<str:dataset>/saved/<int:saved_search_id>/delete/",
            wrap(views.saved_search_delete_view),
            name="registry_search_delete",
        ),
        path("<str:dataset>/export/<str:file_format>/", wrap(views.export_view), name="registry_export"),
        path("exports/<int:job_id>/", wrap(views.export_job_view), name="registry_export_job"),
        path(
            "exports/<int:job_id>/download/",
            wrap(views.export_download_view),
            name="registry_export_download",
        ),
    ]
