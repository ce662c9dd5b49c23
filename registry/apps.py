"""The registry app: registers its approvable actions once the apps are loaded."""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        try:
            import approvals.actions  # noqa: F401
        except ImportError:  # the approvals app is optional while it is being built
            return
        from registry.approval_actions import register

        register()
