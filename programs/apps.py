"""The programmes app: benefit plans, beneficiaries and their status."""

from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programmes"

    def ready(self) -> None:
        from access.hooks import plan_model_register
        from programs.approval_actions import register
        from programs.filters import ENROLMENT_SEARCH
        from programs.models import BenefitPlan
        from programs.selectors import individual_enrolments
        from registry.hooks import individual_enrolments_register, search_extension_register

        plan_model_register(BenefitPlan)
        register()
        # The registry's search and person page show enrolments without importing the programmes app.
        search_extension_register(ENROLMENT_SEARCH)
        individual_enrolments_register(individual_enrolments)
