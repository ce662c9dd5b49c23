"""The programmes app: benefit plans, beneficiaries and their status."""

from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programmes"

    def ready(self) -> None:
        from programs.approval_actions import register

        register()
