"""Each default grant of a role names an app of the portal and a model that app owns."""

from __future__ import annotations

from django.apps import apps

from portal.roles import OUR_APPS, ROLE_PERMISSIONS


def test_every_grant_names_a_model_of_its_own_app() -> None:
    wrong = []
    for role, grants in ROLE_PERMISSIONS.items():
        for key in grants:
            if key == "*":
                continue
            app_label, _, model = key.partition(".")
            config = next((c for c in apps.get_app_configs() if c.label == app_label), None)
            if app_label not in OUR_APPS or config is None:
                wrong.append(f"{role}: {key} (no such app of the portal)")
            elif model and model not in {m._meta.model_name for m in config.get_models()}:
                wrong.append(f"{role}: {key} (not a model of {app_label})")
    assert not wrong, wrong


def test_every_app_with_models_is_granted_to_someone() -> None:
    """An app whose tables nobody but the administrator is granted would be a role forgotten."""
    granted = {key.partition(".")[0] for grants in ROLE_PERMISSIONS.values() for key in grants}
    ours = {"access", "files", "jobs", "approvals", "registry", "programs", "payments", "uploads"}
    ours |= {"grievances", "reports", "fixtures"}  # the portal's own tables are the administrator's
    with_models = {
        config.label
        for config in apps.get_app_configs()
        if config.label in ours and list(config.get_models())
    }
    assert with_models <= granted, with_models - granted
