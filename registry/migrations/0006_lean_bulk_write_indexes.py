"""Five indexes no screen needs, dropped so bulk writes (uploads, the generator) pay for fewer.

The foreign keys' own indexes are dropped by name: `AlterField(db_index=False)` would also drop every
other index on the same column — on PostgreSQL that includes the partial unique indexes that keep one
head, one primary recipient and one current household per person.
"""

import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEY_INDEXES = [
    ("registry_household", "location_id"),
    ("registry_householdmember", "household_id"),
    ("registry_householdmember", "individual_id"),
    ("registry_individual", "location_id"),
]


def foreign_key_indexes_drop(apps, schema_editor):
    for table, column in FOREIGN_KEY_INDEXES:
        name = schema_editor._create_index_name(table, [column], suffix="")
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def foreign_key_indexes_create(apps, schema_editor):
    for table, column in FOREIGN_KEY_INDEXES:
        name = schema_editor._create_index_name(table, [column], suffix="")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"ON {schema_editor.quote_name(table)} ({schema_editor.quote_name(column)})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_filter_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="individual",
            name="individual_given_name_idx",
        ),
        migrations.RemoveIndex(
            model_name="individual",
            name="individual_sex_idx",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="household",
                    name="location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="households",
                        to="registry.location",
                    ),
                ),
                migrations.AlterField(
                    model_name="householdmember",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="registry.household",
                    ),
                ),
                migrations.AlterField(
                    model_name="householdmember",
                    name="individual",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="registry.individual",
                    ),
                ),
                migrations.AlterField(
                    model_name="individual",
                    name="location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="individuals",
                        to="registry.location",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(foreign_key_indexes_drop, foreign_key_indexes_create)],
        ),
    ]
