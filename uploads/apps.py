"""The uploads app: beneficiary files validated in bulk and committed through approval."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from registry.admin.individuals import IndividualAdmin
        from uploads.approval_actions import register
        from uploads.selectors import individual_upload_record

        register()
        # The registry shows who uploaded a person without importing the uploads app.
        IndividualAdmin.upload_record_for = staticmethod(individual_upload_record)
