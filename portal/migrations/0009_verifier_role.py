"""The Verifier role (payment verification), with its default permissions; the other roles are untouched."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_role(apps, schema_editor):
    for label in ("payments", "auth"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    from access.roles import VERIFIER
    from portal.roles import roles_sync

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        roles=(VERIFIER,),
    )


def remove_role(apps, schema_editor):
    from access.roles import VERIFIER

    apps.get_model("auth", "Group").objects.filter(name=VERIFIER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_sensitive_case_role"),
        ("payments", "0006_verification"),
    ]

    operations = [migrations.RunPython(create_role, remove_role)]
