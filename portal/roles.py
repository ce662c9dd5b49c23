"""The permissions each built-in role (Django group) starts with, per app of the portal.

The role names, and every check of them, live in `access.roles`; the portal, at the top, knows every
app's label and grants them. The data migration creates the groups; after every `migrate` the models that
migrate created get their default grants. Nothing else is touched, so what an administrator changed in
the admin stays, unless `roles_sync(reset=True)`.
"""

from __future__ import annotations

from typing import Any

from access.roles import (  # the role names live with the one access rule
    ADMINISTRATOR,
    APPROVER,
    AUDITOR,
    GRIEVANCE_OFFICER,
    PAYMENT_OFFICER,
    PROGRAMME_OFFICER,
    REGISTRY_OFFICER,
    SENSITIVE_CASE_OFFICER,
    VERIFIER,
)

VIEW = ("view",)
PROPOSE = ("view", "add")
EDIT = ("view", "add", "change")
FULL = ("view", "add", "change", "delete")
NONE: tuple[str, ...] = ()

# The location tree and the schemas shape everyone's data: only administrators change them.
REGISTRY_SETUP = ("location", "locationlevel", "registryschema")
# Registry API clients (their keys and scope) and their call trail: administrators, seen by auditors.
API_CLIENTS = {"registry.registryapiclient": NONE, "registry.registryapicall": NONE}
# Makers request tasks; approvers decide on them (an Approval row per decision).
MAKER_APPROVALS = {"approvals": VIEW, "approvals.task": PROPOSE}
CHECKER_APPROVALS = {"approvals": VIEW, "approvals.task": ("view", "change"), "approvals.approval": PROPOSE}


def _models(app_label: str, names: tuple[str, ...], actions: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {f"{app_label}.{name}": actions for name in names}


# role -> {"app" or "app.model": actions}; "app.model" wins over "app", "*" is every app below.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    REGISTRY_OFFICER: {
        "registry": EDIT,
        **API_CLIENTS,
        "uploads": EDIT,
        "intake": EDIT,
        **_models("registry", REGISTRY_SETUP, VIEW),
        "programs": VIEW,
        "jobs": VIEW,
        "reports": EDIT,
        **MAKER_APPROVALS,
    },
    PROGRAMME_OFFICER: {
        "registry": VIEW,
        **API_CLIENTS,
        "programs": EDIT,
        "payments": VIEW,
        "jobs": VIEW,
        "reports": EDIT,
        **MAKER_APPROVALS,
    },
    APPROVER: {
        "registry": VIEW,
        **API_CLIENTS,
        "uploads": VIEW,
        "intake": VIEW,
        "programs": VIEW,
        "payments": VIEW,
        "grievances": VIEW,
        "jobs": VIEW,
        "reports": VIEW,
        **CHECKER_APPROVALS,
    },
    PAYMENT_OFFICER: {
        "registry": VIEW,
        **API_CLIENTS,
        "programs": VIEW,
        "payments": EDIT,
        "jobs": VIEW,
        "reports": EDIT,
        **MAKER_APPROVALS,
    },
    GRIEVANCE_OFFICER: {
        "registry": VIEW,
        **API_CLIENTS,
        "programs": VIEW,
        "payments": VIEW,
        "grievances": EDIT,
        "grievances.grievancepartner": VIEW,  # API partners' keys: administrators
        "jobs": VIEW,
        "reports": VIEW,
        **MAKER_APPROVALS,  # a resolution that changes data is requested from the ticket
    },
    # Handles grievances of sensitive categories too (they are hidden from everyone else).
    SENSITIVE_CASE_OFFICER: {
        "registry": VIEW,
        **API_CLIENTS,
        "programs": VIEW,
        "payments": VIEW,
        "grievances": EDIT,
        "jobs": VIEW,
        "reports": VIEW,
        **MAKER_APPROVALS,
    },
    # Field and call-centre staff checking payments with the people paid: their sample's lines only.
    VERIFIER: {
        "payments": NONE,
        "payments.verificationplan": VIEW,
        "payments.verificationrecord": ("view", "change"),
    },
    AUDITOR: {"*": VIEW},
    ADMINISTRATOR: {"*": FULL},
}
OUR_APPS = (
    "registry",
    "uploads",
    "intake",
    "programs",
    "payments",
    "approvals",
    "grievances",
    "jobs",
    "notifications",
    "reports",
    "portal",
    "identity",
    "auth",
    "admin",
    "axes",
    "django_tasks_database",
)

ROLES = tuple(ROLE_PERMISSIONS)


def role_actions(role: str, app_label: str, model: str) -> tuple[str, ...]:
    """What a role may do with a model; history tables are only ever viewed."""
    grants = ROLE_PERMISSIONS[role]
    if model.startswith("historical"):
        base = role_actions(role, app_label, model.removeprefix("historical").split("_")[0])
        return VIEW if "view" in base else NONE
    for key in (f"{app_label}.{model}", app_label):
        if key in grants:
            return grants[key]
    return grants.get("*", NONE) if app_label in OUR_APPS else NONE


def roles_sync(
    *,
    group_model: Any = None,
    permission_model: Any = None,
    reset: bool = False,
    models: set[tuple[str, str]] | None = None,
    roles: tuple[str, ...] = ROLES,
) -> None:
    """Create the role groups and add their default permissions, for `models` (app, model) or all, and
    for `roles` or all (a migration adding a role grants only it)."""
    if group_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    permissions = [
        row
        for row in permission_model.objects.filter(content_type__app_label__in=OUR_APPS).values_list(
            "pk", "codename", "content_type__app_label", "content_type__model"
        )
        if models is None or (row[2], row[3]) in models
    ]
    for role in roles:
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = [
            pk
            for pk, codename, app_label, model in permissions
            if codename.split("_", 1)[0] in role_actions(role, app_label, model)
        ]
        if reset:
            group.permissions.set(wanted)
        else:
            group.permissions.add(*wanted)


def roles_sync_after_migrate(sender: Any, plan: Any = None, **kwargs: Any) -> None:
    """Grant the defaults on the models this `migrate` created (their permissions exist by now)."""
    if getattr(sender, "name", "") != "portal":
        return
    from django.db.migrations.operations import CreateModel

    created = {
        (migration.app_label, operation.name_lower)
        for migration, backwards in plan or ()
        if not backwards
        for operation in migration.operations
        if isinstance(operation, CreateModel)
    }
    if created:
        roles_sync(models=created)
