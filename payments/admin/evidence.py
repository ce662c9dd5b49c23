"""Delivery evidence in the admin: a line's photo as a thumbnail, served only through a permission-checked
view (never from MEDIA_URL)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from payments.models import Benefit


class BenefitEvidenceViews(admin.ModelAdmin):
    """The line admin's evidence column and photo route (BenefitAdmin builds on it)."""

    @admin.display(description="evidence")
    def thumbnail(self, obj: Benefit) -> str:
        if not obj.evidence_photo:
            return "—"
        url = reverse("admin:payments_benefit_photo", args=[obj.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="Photo of the payment" class="evidence-thumbnail" '
            'width="64"></a>',
            url,
            url,
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:benefit_id>/photo/",
                self.admin_site.admin_view(self.photo_view),
                name="payments_benefit_photo",
            ),
            *super().get_urls(),
        ]

    def photo_view(self, request: HttpRequest, benefit_id: int) -> HttpResponse:
        """The evidence photo, served through the app to those who may see the line (never from MEDIA_URL)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        benefit = self.get_queryset(request).filter(pk=benefit_id).first()
        if benefit is None or not benefit.evidence_photo:
            raise Http404("No photo.")
        content_type = "image/png" if benefit.evidence_photo.name.endswith(".png") else "image/jpeg"
        return FileResponse(benefit.evidence_photo.open("rb"), content_type=content_type)
