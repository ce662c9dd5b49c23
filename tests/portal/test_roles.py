"""The built-in roles: created by the data migration, each with sensible permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from portal.roles import (
    ADMINISTRATOR,
    APPROVER,
    AUDITOR,
    GRIEVANCE_OFFICER,
    PAYMENT_OFFICER,
    PROGRAMME_OFFICER,
    REGISTRY_OFFICER,
    ROLES,
    SENSITIVE_CASE_OFFICER,
    VERIFIER,
    roles_sync,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def perms(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_the_built_in_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        REGISTRY_OFFICER,
        PROGRAMME_OFFICER,
        APPROVER,
        PAYMENT_OFFICER,
        GRIEVANCE_OFFICER,
        SENSITIVE_CASE_OFFICER,
        AUDITOR,
        ADMINISTRATOR,
        VERIFIER,
    }
    assert len(ROLES) == 9
    for role in ROLES:
        assert perms(role), f"{role} has no permissions"


def test_auditor_only_views_but_views_everything():
    auditor = perms(AUDITOR)
    assert all(codename.split(".")[1].startswith("view_") for codename in auditor)
    for needed in (
        "registry.view_individual",
        "registry.view_location",
        "auth.view_user",
        "registry.view_historicalindividual",
        "jobs.view_job",
        "axes.view_accessattempt",
    ):
        assert needed in auditor, needed


def test_administrator_may_do_everything_in_the_portal():
    admin = perms(ADMINISTRATOR)
    for needed in (
        "registry.delete_individual",
        "registry.add_location",
        "registry.change_locationlevel",
        "auth.add_user",
        "auth.change_group",
        "portal.change_userprofile",
    ):
        assert needed in admin, needed


def test_registry_officer_edits_people_not_the_location_tree():
    officer = perms(REGISTRY_OFFICER)
    assert {"registry.add_individual", "registry.change_household", "registry.view_location"} <= officer
    assert "uploads.add_importbatch" in officer  # uploading registry files is intake work
    assert not officer & {
        "registry.add_location",
        "registry.change_location",
        "registry.delete_individual",
        "auth.add_user",
        "auth.view_user",
    }


def test_approver_decides_but_does_not_make():
    approver = perms(APPROVER)
    assert {"registry.view_individual", "uploads.view_importbatch", "approvals.change_task"} <= approver
    assert "uploads.add_importbatch" not in approver and "approvals.change_approvalpolicy" not in approver
    assert not any(
        p.split(".")[1].split("_")[0] in ("add", "change", "delete")
        for p in approver
        if p.startswith("registry.")
    )
    assert not any(p.startswith("auth.") for p in approver)


def test_only_views_of_history_tables_are_ever_granted():
    for role in ROLES:
        assert not [
            p
            for p in perms(role)
            if ".historical" in p.replace("_historical", ".historical")
            and not p.split(".")[1].startswith("view_")
        ], role


def test_nobody_but_administrators_touches_users():
    roles = (
        REGISTRY_OFFICER,
        PROGRAMME_OFFICER,
        APPROVER,
        PAYMENT_OFFICER,
        GRIEVANCE_OFFICER,
        SENSITIVE_CASE_OFFICER,
    )
    for role in roles:
        assert not [p for p in perms(role) if p.startswith(("auth.", "portal.", "axes."))], role


def test_role_grants_reach_users():
    officer = make_user("grace", roles=(GRIEVANCE_OFFICER,))
    assert officer.has_perm("registry.view_individual")
    assert not officer.has_perm("registry.change_individual")


def test_sync_is_idempotent_and_reset_restores_defaults():
    before = {role: perms(role) for role in ROLES}
    roles_sync()
    assert {role: perms(role) for role in ROLES} == before
    group = Group.objects.get(name=REGISTRY_OFFICER)
    group.permissions.remove(Permission.objects.get(codename="add_individual"))
    call_command("migrate", verbosity=0)
    assert "registry.add_individual" not in perms(REGISTRY_OFFICER)  # an administrator's removal stays
    roles_sync(reset=True)
    assert perms(REGISTRY_OFFICER) == before[REGISTRY_OFFICER]
