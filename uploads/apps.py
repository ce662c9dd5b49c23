"""The uploads app: beneficiary files validated in bulk and committed through approval."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from uploads.approval_actions import register

        register()
