"""The sensitive-case role (issue 17): the designated role that alone sees grievances of sensitive
categories; the grievance roles also request approvals (a ticket's resolution may change data)."""

from django.db import migrations


def create_role(apps, schema_editor):
    from importlib import import_module

    create_roles = import_module("portal.migrations.0002_roles").create_roles
    create_roles(apps, schema_editor)  # permissions of the models migrated so far, then every role's grants


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Sensitive case officer").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_admin_search_indexes"),
        ("grievances", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_role, remove_role)]
