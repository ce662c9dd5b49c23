"""On PostgreSQL the staging tables are scratch space: unlogged (no WAL) and with room for in-page updates."""

from django.db import migrations


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE uploads_stagedrow SET UNLOGGED")
    schema_editor.execute("ALTER TABLE uploads_stagedrow SET (fillfactor = 70)")
    schema_editor.execute("ALTER TABLE uploads_stagederror SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE uploads_stagedrow SET LOGGED")
    schema_editor.execute("ALTER TABLE uploads_stagederror SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("uploads", "0001_initial")]
    operations = [migrations.RunPython(unlogged, logged)]
