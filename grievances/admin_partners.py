"""API partners in the admin: a partner's key is made on its own page and shown once (as payment points')."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from access.history import ScopedHistoryAdmin
from grievances.partners import GrievancePartner, partner_key_rotate


@admin.register(GrievancePartner)
class GrievancePartnerAdmin(ScopedHistoryAdmin):
    list_display = ("name", "channel", "is_active", "api_key_prefix")
    list_filter = ("channel", "is_active")
    search_fields = ("name__exact",)
    readonly_fields = ("api_key",)

    @admin.display(description=_("API key"))
    def api_key(self, obj: GrievancePartner) -> str:
        if obj.pk is None:
            return _("Save the partner first.")
        url = reverse("admin:grievances_grievancepartner_key", args=[obj.pk])
        current = (
            _("starts with %(prefix)s") % {"prefix": obj.api_key_prefix}
            if obj.api_key_prefix
            else _("none yet")
        )
        return format_html(
            '{} · <a href="{}" id="partner-key-link">{}</a>', current, url, _("Make a new key")
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:partner_id>/key/",
                self.admin_site.admin_view(self.key_view),
                name="grievances_grievancepartner_key",
            ),
            *super().get_urls(),
        ]

    def key_view(self, request: HttpRequest, partner_id: int) -> HttpResponse:
        """A new key, shown once on this page (POST); only its hash is kept."""
        partner = GrievancePartner.objects.filter(pk=partner_id).first()
        if partner is None or not self.has_view_permission(request, partner):
            raise Http404(_("No such partner."))
        key = None
        if request.method == "POST":
            try:
                key = partner_key_rotate(user=request.user, partner=partner)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "partner": partner,
            "key": key,
            "title": _("API key of %(partner)s") % {"partner": partner},
        }
        return TemplateResponse(request, "grievances/public/partner_key.html", context)
