"""The registry app: registers its approvable actions once the apps are loaded."""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        from access.hooks import location_paths_provider_register
        from registry.selectors import location_paths_of

        location_paths_provider_register(location_paths_of)
        try:
            import approvals.actions  # noqa: F401
        except ImportError:  # the approvals app is optional while it is being built
            return
        from registry.approval_actions import register

        register()
