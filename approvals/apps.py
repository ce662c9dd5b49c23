"""The approvals app: maker-checker for every sensitive action of the portal."""

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from approvals.models import Task

        post_save.connect(_tasks_changed, sender=Task, dispatch_uid="approvals.tasks_version")
        post_delete.connect(_tasks_changed, sender=Task, dispatch_uid="approvals.tasks_version_delete")


def _tasks_changed(**kwargs: object) -> None:
    """A task created, decided or ended: the cached badge counts are stale (now, and once committed, for a
    count read meanwhile by another request)."""
    from django.db import transaction

    from approvals.selectors import tasks_version_bump

    tasks_version_bump()
    transaction.on_commit(tasks_version_bump)
