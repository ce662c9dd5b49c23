"""The uploads app: beneficiary files validated in bulk and committed through approval."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from approvals.signals import task_ended
        from programs.hooks import PlanLink, plan_link_register
        from registry.hooks import individual_upload_record_register
        from uploads.approval_actions import register
        from uploads.receivers import batch_after_commit_task
        from uploads.selectors import individual_upload_record

        register()
        task_ended.connect(batch_after_commit_task, dispatch_uid="uploads.batch_after_commit_task")
        # The registry shows who uploaded a person, and a plan's page links its uploads, without importing us.
        individual_upload_record_register(individual_upload_record)
        plan_link_register(
            PlanLink(_("Uploads"), "admin:uploads_importbatch_changelist", "benefit_plan__id__exact")
        )
