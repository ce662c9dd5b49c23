"""The grievances app: tickets, routing, SLA, resolutions through approval."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrievancesConfig(AppConfig):
    name = "grievances"
    verbose_name = _("Grievances")

    def ready(self) -> None:
        from grievances import notify, receivers
        from grievances.subjects import subjects_register_builtin
        from grievances.verification import verification_discrepancy_connect

        subjects_register_builtin()
        receivers.connect()
        notify.connect()  # the complainant and the assignee hear of each step
        verification_discrepancy_connect()
        _payment_line_complaints()


def _payment_line_complaints() -> None:
    """A payment line's page lists the complaints about it that the user may see."""
    from grievances.selectors import tickets_about
    from payments.hooks import BenefitPanel, benefit_panel_register

    benefit_panel_register(
        BenefitPanel(
            _("Complaints about this payment"),
            records=lambda *, benefit, user: tickets_about(user=user, field="benefit", record_id=benefit.pk),
            describe=lambda ticket: f"{ticket.category} ({ticket.get_status_display()})",
        )
    )
