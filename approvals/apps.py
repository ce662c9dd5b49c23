"""The approvals app: maker-checker for every sensitive action of the portal."""

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
