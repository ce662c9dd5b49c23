"""URL map: the admin is the portal; the JSON API lives under /api/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/demo-data/", include("fixtures.urls")),  # before the admin's catch-all
    path("admin/two-factor/", include("identity.urls")),
    path("admin/sso/", include("identity.sso_urls")),  # single sign-on (404 unless configured)
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("grievances/", include("grievances.urls")),  # the public complaint pages (no sign-in)
]

# Uploaded files (evidence photos, upload batches) are never served from MEDIA_URL, in DEBUG or not: only
# through views that check permission (payments: admin:payments_benefit_photo).
