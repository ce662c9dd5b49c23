"""The programmes app: benefit plans, beneficiaries and their status."""

from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programmes"

    def ready(self) -> None:
        from access.hooks import plan_model_register
        from programs.models import BenefitPlan

        plan_model_register(BenefitPlan)
        from programs.approval_actions import register
        from programs.selectors import individual_enrolments
        from registry.admin.individuals import IndividualAdmin

        register()
        # The registry shows a person's enrolments without importing the programmes app.
        IndividualAdmin.enrolments_for = staticmethod(individual_enrolments)
