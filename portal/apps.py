"""App configs: the portal itself, and the admin installed with our AdminSite."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "portal.sites.PortalAdminSite"

    def ready(self) -> None:
        super().ready()
        from django.contrib.admin import ModelAdmin

        from portal.sites import action_checkbox

        # Every admin list's row checkbox: the same HTML, written directly (see portal.sites.action_checkbox).
        ModelAdmin.action_checkbox = action_checkbox  # type: ignore[method-assign]


def cache_tables_create(using: str = "default", **kwargs: object) -> None:
    """The database cache's table (the API throttle's counts) comes with migrate: no extra set-up step."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = "Administration"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from portal.roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="portal.roles_sync")
        post_migrate.connect(cache_tables_create, sender=self, dispatch_uid="portal.cache_tables")

        from django.contrib.auth.signals import user_logged_in

        from portal.language import language_remember_at_login

        user_logged_in.connect(language_remember_at_login, dispatch_uid="portal.language")

        _upload_batches_as_ticket_subjects()
        _scope_grants_connect()

        from identity.hooks import user_locations_register
        from portal import directory

        user_locations_register(setter=directory.user_locations_set, unknown=directory.location_codes_unknown)

        from approvals.signals import task_executed
        from payments.signals import reconciliation_lines_changed
        from portal.signals import refresh_after_reconciliation, refresh_after_task

        task_executed.connect(refresh_after_task, dispatch_uid="portal.summaries_after_task")
        reconciliation_lines_changed.connect(
            refresh_after_reconciliation, dispatch_uid="portal.summaries_after_reconciliation"
        )


def _scope_grants_connect() -> None:
    """Scope grants follow profiles' locations and plan permissions; access reads their dates."""
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from guardian.models import UserObjectPermission

    from access.hooks import locations_out_of_force_register, plans_out_of_force_register
    from portal import grants
    from portal.models import UserProfile

    locations_out_of_force_register(grants.locations_out_of_force)
    plans_out_of_force_register(grants.plans_out_of_force)
    m2m_changed.connect(
        grants.profile_locations_changed,
        sender=UserProfile.locations.through,
        dispatch_uid="portal.scope_grants_locations",
    )
    post_save.connect(
        grants.plan_permission_saved, sender=UserObjectPermission, dispatch_uid="portal.scope_grants_plans"
    )
    post_delete.connect(
        grants.plan_permission_deleted, sender=UserObjectPermission, dispatch_uid="portal.scope_grants_plans"
    )


def _upload_batches_as_ticket_subjects() -> None:
    """A complaint may concern an upload batch (grievances and uploads are siblings: the portal links
    them)."""
    from grievances.subjects import subject_kind_register
    from uploads.models import ImportBatch
    from uploads.selectors import batch_list

    subject_kind_register(
        ImportBatch, visible=lambda user: batch_list(user=user), location=lambda batch: None
    )
