"""The grievances app: tickets, routing, SLA, resolutions through approval."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrievancesConfig(AppConfig):
    name = "grievances"
    verbose_name = _("Grievances")

    def ready(self) -> None:
        from grievances import receivers
        from grievances.subjects import subjects_register_builtin
        from grievances.verification import verification_discrepancy_connect

        subjects_register_builtin()
        receivers.connect()
        verification_discrepancy_connect()
