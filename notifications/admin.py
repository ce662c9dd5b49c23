"""Templates editable per language; the outbox read-only, failures visible, failed messages sent again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import MessageTemplate, OutboxMessage, OutboxStatus
from notifications.services import outbox_retry


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin[MessageTemplate]):
    list_display = ["key", "language", "subject", "updated_at"]
    list_filter = ["language"]
    search_fields = ["key__exact"]
    ordering = ["key", "language"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    list_display = [
        "created_at",
        "channel",
        "recipient",
        "template_key",
        "status",
        "attempts",
        "next_attempt_at",
        "error_short",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["recipient__exact"]
    date_hierarchy = None
    show_full_result_count = False
    actions = ["send_again"]
    readonly_fields = [
        "channel",
        "recipient",
        "template_key",
        "language",
        "subject",
        "body",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "created_at",
        "sent_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return obj is None and super().has_change_permission(request)  # rows are read-only; the list's action

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False  # a message is never lost, not even by hand

    @admin.display(description=_("last error"))
    def error_short(self, obj: OutboxMessage) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.action(description=_("Send the selected failed messages again"), permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = queryset.filter(status=OutboxStatus.FAILED).values_list("pk", flat=True)
        count = outbox_retry(message_ids=ids)
        if not count:
            self.message_user(request, _("None of the selected messages had failed."), messages.WARNING)
            return
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
