"""The built-in roles (Django groups) and the permissions each starts with.

The data migration creates the groups; after every `migrate` the default
permissions are added again for models that later migrations created. Sync
only adds: what an administrator removed in the admin is not forced back,
unless `roles_sync(reset=True)` is asked for.
"""

from __future__ import annotations

from typing import Any

REGISTRY_OFFICER = "Registry officer"
PROGRAMME_OFFICER = "Programme officer"
APPROVER = "Approver"
PAYMENT_OFFICER = "Payment officer"
GRIEVANCE_OFFICER = "Grievance officer"
AUDITOR = "Auditor"
ADMINISTRATOR = "Administrator"

VIEW = ("view",)
EDIT = ("view", "add", "change")
FULL = ("view", "add", "change", "delete")

# role -> {app_label: actions}; "*" means every app of ours and the admin's own.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    REGISTRY_OFFICER: {"registry": EDIT, "jobs": VIEW, "approvals": ("view", "add")},
    PROGRAMME_OFFICER: {"registry": VIEW, "programs": EDIT, "jobs": VIEW, "approvals": ("view", "add")},
    APPROVER: {"registry": VIEW, "programs": VIEW, "grievances": VIEW, "jobs": VIEW, "approvals": ("view", "change")},
    PAYMENT_OFFICER: {"registry": VIEW, "programs": EDIT, "jobs": VIEW, "approvals": ("view", "add")},
    GRIEVANCE_OFFICER: {"registry": VIEW, "programs": VIEW, "grievances": EDIT, "jobs": VIEW},
    AUDITOR: {"*": VIEW},
    ADMINISTRATOR: {"*": FULL},
}
OUR_APPS = ("registry", "programs", "approvals", "grievances", "jobs", "portal", "auth", "django_tasks_db", "axes")

ROLES = tuple(ROLE_PERMISSIONS)


def roles_sync(*, group_model: Any = None, permission_model: Any = None, reset: bool = False) -> None:
    """Create the role groups and give them their default permissions (idempotent)."""
    if group_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for app_label, actions in grants.items():
            apps = OUR_APPS if app_label == "*" else (app_label,)
            for action in actions:
                wanted.extend(
                    permission_model.objects.filter(
                        content_type__app_label__in=apps, codename__startswith=f"{action}_"
                    ).values_list("pk", flat=True)
                )
        if reset:
            group.permissions.set(wanted)
        else:
            group.permissions.add(*wanted)


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "name", "") == "portal":
        roles_sync()
