"""Create the built-in roles (groups) with their default permissions."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now
    # so the roles can be given them in this migration.
    for app_config in global_apps.get_app_configs():
        if app_config.models_module is None:
            continue
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        except LookupError:  # an app whose models are not migrated yet: post_migrate catches up
            continue
    from portal.roles import roles_sync

    roles_sync(group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    from portal.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
