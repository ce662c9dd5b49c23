"""Payment cycles and payment points in the admin; a point's API key is made on its own page, shown once."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from access.history import ScopedHistoryAdmin
from payments.admin.responses import refusal_report
from payments.models import PaymentCycle, PaymentPoint
from payments.services import payment_point_key_rotate


@admin.register(PaymentCycle)
class PaymentCycleAdmin(ScopedHistoryAdmin):
    list_display = ("code", "name", "start_date", "end_date")
    search_fields = ("code", "name")


@admin.register(PaymentPoint)
class PaymentPointAdmin(ScopedHistoryAdmin):
    list_display = ("name", "point_type", "is_active", "api_key_prefix")
    list_filter = ("point_type", "is_active")
    search_fields = ("name",)
    raw_id_fields = ("locations",)
    readonly_fields = ("api_key",)

    @admin.display(description="API key")
    def api_key(self, obj: PaymentPoint) -> str:
        if obj.pk is None:
            return "Save the payment point first."
        url = reverse("admin:payments_paymentpoint_key", args=[obj.pk])
        current = f"starts with {obj.api_key_prefix}" if obj.api_key_prefix else "none yet"
        return format_html('{} · <a href="{}" id="payment-point-key-link">Make a new key</a>', current, url)

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:point_id>/key/",
                self.admin_site.admin_view(self.key_view),
                name="payments_paymentpoint_key",
            ),
            *super().get_urls(),
        ]

    def key_view(self, request: HttpRequest, point_id: int) -> HttpResponse:
        """A new key, shown once on this page; only its hash is kept."""
        point = PaymentPoint.objects.filter(pk=point_id).first()
        if point is None:
            raise Http404("No such payment point.")
        key = None
        if request.method == "POST":
            try:
                key = payment_point_key_rotate(user=request.user, payment_point=point)
            except ValidationError as exc:
                refusal_report(request, self, exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "point": point,
            "key": key,
            "title": f"API key of {point}",
        }
        return TemplateResponse(request, "payments/paymentpoint_key.html", context)
