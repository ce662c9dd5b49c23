"""The uploads app: beneficiary files validated in bulk and committed through approval."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from approvals.signals import task_ended
        from registry.admin.individuals import IndividualAdmin
        from uploads.approval_actions import register
        from uploads.receivers import batch_after_commit_task
        from uploads.selectors import individual_upload_record

        register()
        task_ended.connect(batch_after_commit_task, dispatch_uid="uploads.batch_after_commit_task")
        # The registry shows who uploaded a person without importing the uploads app.
        IndividualAdmin.upload_record_for = staticmethod(individual_upload_record)
