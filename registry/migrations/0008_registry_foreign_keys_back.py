"""The registry's references get their database FK constraints back (0007 had turned them off).

Individual.location, Household.location, IdentityDocument.individual and HouseholdMember.household /
.individual. On PostgreSQL each constraint is added NOT VALID (a brief lock; new rows are checked from then
on) and then validated in a transaction of its own, which reads the existing rows without blocking writes
to the table: a national registry is not locked for the minutes a scan of its millions of rows can take.
Hence a non-atomic migration. Rows pointing at nothing (possible while the constraints were off) stop it
with a message naming the table, the count and a few ids; run it again once they are put right.
SQLite gets the constraints through Django's table rebuild.
"""

import django.db.models.deletion
from django.db import migrations, models, transaction


def _orphans_refuse(schema_editor, model, field) -> None:
    table = schema_editor.quote_name(model._meta.db_table)
    column = schema_editor.quote_name(field.column)
    parent = schema_editor.quote_name(field.related_model._meta.db_table)
    parent_key = schema_editor.quote_name(field.target_field.column)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.{column} FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.{parent_key} = t.{column}) ORDER BY t.id LIMIT 5"
        )
        sample = cursor.fetchall()
        if not sample:
            return
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.{parent_key} = t.{column})"
        )
        count = cursor.fetchone()[0]
    rows = ", ".join(f"id {row_id} ({field.column} = {value})" for row_id, value in sample)
    plural = "s" if count != 1 else ""
    raise RuntimeError(
        f"{count:,} row{plural} of {model._meta.db_table} refer to a {field.related_model._meta.db_table} "
        f"row that does not exist, e.g. {rows}. Delete or correct them, then run migrate again: the "
        f"foreign key {model._meta.db_table}.{field.column} cannot be validated before."
    )


class AddForeignKeyConstraint(migrations.AlterField):
    """AlterField from db_constraint=False to True; on PostgreSQL, NOT VALID first, then VALIDATE."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            _orphans_refuse(schema_editor, model, field)
            with transaction.atomic(using=connection.alias):
                super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        table = model._meta.db_table
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        names = [
            name
            for name, info in constraints.items()
            if info["foreign_key"] and info["columns"] == [field.column]
        ]
        if not names:
            statement = schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
            schema_editor.execute(f"{statement} NOT VALID")  # autocommit: the lock ends here
            names = [str(statement.parts["name"])]
        _orphans_refuse(schema_editor, model, field)
        for name in names:
            schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} VALIDATE CONSTRAINT {name}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # AlterField's own step (it drops the constraint found by introspection, or rebuilds on SQLite).
        with transaction.atomic(using=schema_editor.connection.alias):
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0007_bulk_write_lean_names_and_keys"),
    ]

    operations = [
        AddForeignKeyConstraint(
            model_name="individual",
            name="location",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="individuals",
                to="registry.location",
            ),
        ),
        AddForeignKeyConstraint(
            model_name="household",
            name="location",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="households",
                to="registry.location",
            ),
        ),
        AddForeignKeyConstraint(
            model_name="identitydocument",
            name="individual",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="documents",
                to="registry.individual",
            ),
        ),
        AddForeignKeyConstraint(
            model_name="householdmember",
            name="household",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="registry.household",
            ),
        ),
        AddForeignKeyConstraint(
            model_name="householdmember",
            name="individual",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="registry.individual",
            ),
        ),
    ]
