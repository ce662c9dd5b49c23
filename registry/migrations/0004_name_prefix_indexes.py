"""Name-prefix indexes for PostgreSQL databases whose collation is not C.

`UPPER(name) LIKE 'OKA%'` can use a plain btree index only under the C
collation; text_pattern_ops indexes serve it under any collation.
"""

from django.db import migrations

PREFIX_INDEXES = {
    "individual_family_prefix_idx": "UPPER(family_name::text) text_pattern_ops",
    "individual_given_prefix_idx": "UPPER(given_name::text) text_pattern_ops",
}


def prefix_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in PREFIX_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON registry_individual ({expression})")


def prefix_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in PREFIX_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_indexes_default_schemas")]

    operations = [migrations.RunPython(prefix_indexes_create, prefix_indexes_drop)]
