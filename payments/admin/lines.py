"""Payment lines in the admin, read-only: scoped to the user's payrolls and locations, with their story."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from payments.admin.evidence import BenefitEvidenceViews
from payments.hooks import benefit_panels
from payments.models import Benefit
from payments.selectors import benefit_list, benefit_story


@admin.register(Benefit)
class BenefitAdmin(BenefitEvidenceViews):
    list_display = (
        "reference",
        "payroll",
        "beneficiary",
        "recipient",
        "amount",
        "status",
        "hold_reason",
        "amount_paid",
        "thumbnail",
    )
    list_select_related = (
        "payroll",
        "beneficiary__benefit_plan",
        "beneficiary__household",
        "beneficiary__individual",
        "recipient",
    )
    list_filter = ("status",)
    search_fields = ("reference__exact", "transaction_id__exact")  # as printed: indexed, case kept
    raw_id_fields = ("payroll", "beneficiary", "cycle", "recipient", "location")
    show_full_result_count = False
    readonly_fields = ("thumbnail", "reissue_shown", "story")
    change_form_template = "payments/benefit_change_form.html"

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):  # type: ignore[no-untyped-def]
        """The panels other apps register (complaints about the line), scoped to the user."""
        original = context.get("original")
        if original is not None:
            context["benefit_panels"] = benefit_panels(benefit=original, user=request.user)
        return super().render_change_form(request, context, *args, **kwargs)

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return benefit_list(user=request.user)

    @admin.display(description=_("Re-issue"))
    def reissue_shown(self, obj: Benefit) -> str:
        """Both ways: the failed line re-issued (waiting for the next payroll, or the new line), or the line
        it re-issues. Two small lookups by unique keys."""
        from payments.models import BenefitReissue

        def link(line_id: int, reference: str) -> str:
            return format_html(
                '<a href="{}">{}</a>', reverse("admin:payments_benefit_change", args=[line_id]), reference
            )

        made = BenefitReissue.objects.filter(original=obj).select_related("new_line", "payment_plan").first()
        if made is not None:
            if made.new_line is None:
                return str(
                    _("Approved: paid again in the next payroll of %(plan)s.") % {"plan": made.payment_plan}
                )
            return format_html("{} {}", _("Re-issued as"), link(made.new_line_id, made.new_line.reference))
        source = BenefitReissue.objects.filter(new_line=obj).select_related("original").first()
        if source is not None:
            return format_html("{} {}", _("Re-issue of"), link(source.original_id, source.original.reference))
        return "—"

    @admin.display(description=_("Story of the line"))
    def story(self, obj: Benefit) -> str:
        """Every change of the line's status or amount: when, what, who (or which provider), why."""
        events = benefit_story(obj)
        if not events:
            return str(_("No recorded change."))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{event.at:%Y-%m-%d %H:%M:%S}",
                    event.get_kind_display(),
                    f"{event.get_from_status_display() or '—'} → {event.get_to_status_display()}",
                    "" if event.amount is None else event.amount,
                    event.user or event.payment_point or "—",
                    f"#{event.task_id}" if event.task_id else "",
                    event.note,
                )
                for event in events
            ),
        )
        return format_html(
            '<table id="benefit-story"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"),
            _("What"),
            _("Status"),
            _("Amount"),
            _("Who"),
            _("Task"),
            _("Note"),
            rows,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Benefit | None = None) -> bool:
        return False  # lines change through the payroll's steps and the provider's results

    def has_delete_permission(self, request: HttpRequest, obj: Benefit | None = None) -> bool:
        return False
