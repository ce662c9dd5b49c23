"""API keys in the admin, the same for every holder: the key's page (a new key shown once after a POST, with
the overlap during which the old key still works), the "Make a new API key" action leading to it, the key's
limits on the holder's form, and the read-only trail of key events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from identity.apikeys import ApiKeyEvent, ApiKeyHolder


class KeyRotationForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label=_lazy("Hours the current key keeps working"),
        min_value=0,
        max_value=24 * 90,
        help_text=_lazy("0: the current key stops at once. Give the new key to the client within this time."),
    )


class ApiKeyAdminMixin:
    """Mix into a holder's ModelAdmin. Subclasses say how a key is made (`key_rotate`, which checks the
    user's permission through the holder's own service) and may name the key's page template."""

    key_template = "identity/api_key.html"
    actions = ["make_new_api_key"]

    def key_rotate(self, request: HttpRequest, holder: Any, overlap: timedelta) -> str:
        raise NotImplementedError

    def _key_url_name(self) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return f"{opts.app_label}_{opts.model_name}_key"

    @admin.display(description=_lazy("API key"))
    def api_key(self, obj: ApiKeyHolder) -> str:
        if obj.pk is None:
            return _("Save it first.")
        url = reverse(f"admin:{self._key_url_name()}", args=[obj.pk])
        current = (
            _("starts with %(prefix)s") % {"prefix": obj.api_key_prefix}
            if obj.api_key_prefix
            else _("none yet")
        )
        opts = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        trail = (
            reverse("admin:identity_apikeyevent_changelist")
            + "?"
            + urlencode({"holder_type__id__exact": opts.pk, "holder_id": obj.pk})
        )
        return format_html(
            '{} · <a href="{}" class="api-key-link">{}</a> · <a href="{}">{}</a>',
            current,
            url,
            _("Make a new key"),
            trail,
            _("Key history"),
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:object_id>/key/",
                self.admin_site.admin_view(self.key_view),  # type: ignore[attr-defined]
                name=self._key_url_name(),
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def _key_page(self, request: HttpRequest, holder: Any, form: KeyRotationForm, key: str | None) -> Any:
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "holder": holder,
            "form": form,
            "key": key,
            "action_url": reverse(f"admin:{self._key_url_name()}", args=[holder.pk]),
            "title": _("API key of %(holder)s") % {"holder": holder},
        }
        return TemplateResponse(request, self.key_template, context)

    def key_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The confirmation page (GET); a new key, shown once on this page (POST); only its hash is kept."""
        holder = self.model.objects.filter(pk=object_id).first()  # type: ignore[attr-defined]
        if holder is None or not self.has_view_permission(request, holder):  # type: ignore[attr-defined]
            raise Http404(_("Not found."))
        form = KeyRotationForm(initial={"overlap_hours": settings.API_KEY_ROTATION_OVERLAP_HOURS})
        key = None
        if request.method == "POST":
            form = KeyRotationForm(request.POST or {"overlap_hours": settings.API_KEY_ROTATION_OVERLAP_HOURS})
            if form.is_valid():
                try:
                    key = self.key_rotate(
                        request, holder, timedelta(hours=form.cleaned_data["overlap_hours"])
                    )
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)  # type: ignore[attr-defined]
                holder.refresh_from_db()
        return self._key_page(request, holder, form, key)

    @admin.action(description=_lazy("Make a new API key for the selected holder"))
    def make_new_api_key(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Leads to the key's confirmation page; the key is made only by its POST."""
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one to make a new key."), messages.WARNING)  # type: ignore[attr-defined]
            return None
        holder = queryset.first()
        form = KeyRotationForm(initial={"overlap_hours": settings.API_KEY_ROTATION_OVERLAP_HOURS})
        return self._key_page(request, holder, form, None)


class HolderIdFilter(admin.SimpleListFilter):
    title = _lazy("holder")
    parameter_name = "holder_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"#{value}")] if value else []

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(holder_id=int(value))
        return queryset


@admin.register(ApiKeyEvent)
class ApiKeyEventAdmin(admin.ModelAdmin):
    """The API-key trail: read-only, filterable by event, kind of holder and holder."""

    list_display = ["at", "kind", "holder_type", "holder_name", "actor", "ip_address", "detail"]
    list_filter = ["kind", ("holder_type", admin.RelatedOnlyFieldListFilter), HolderIdFilter]
    list_select_related = ["actor", "holder_type"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
