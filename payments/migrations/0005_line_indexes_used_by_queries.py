"""Payment lines keep only the indexes a query uses; the admin's exact searches get theirs (issue 24).

- The reference's `varchar_pattern_ops` index (Django adds it beside a unique CharField on PostgreSQL) served
  no query: references are looked up by equality (API, evidence, admin search). The field's unique constraint
  becomes a named UniqueConstraint, which has no pattern index; on PostgreSQL the existing unique index is
  renamed, not rebuilt, so a table of millions of lines is not rewritten.
- `benefit_beneficiary_idx` served no query: lines are never read by beneficiary alone; the payroll's
  "already paid this cycle" check reads the partial unique index on (beneficiary, cycle).
- The transaction id (admin exact search) gets a partial index on the lines that have one; reconciliation
  batches an index on their Idempotency-Key (admin exact search).
"""

from django.db import migrations, models

UNIQUE_NAME = "benefit_reference_unique"
TABLE = "payments_benefit"


def _like_index_name(schema_editor) -> str:
    return schema_editor._create_index_name(TABLE, ["reference"], suffix="_like")


def _old_unique_name(schema_editor) -> str:
    return f"{TABLE}_reference_key"


def reference_unique_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        model = apps.get_model("payments", "Benefit")
        old = model._meta.get_field("reference")
        new = models.CharField(max_length=40)
        new.set_attributes_from_name("reference")
        new.model = model
        schema_editor.alter_field(model, old, new)
        schema_editor.add_constraint(model, models.UniqueConstraint(fields=["reference"], name=UNIQUE_NAME))
        return
    model = apps.get_model("payments", "Benefit")
    (old_name,) = schema_editor._constraint_names(model, ["reference"], unique=True, primary_key=False)
    schema_editor.execute(f"DROP INDEX IF EXISTS {_like_index_name(schema_editor)}")
    schema_editor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {old_name} TO {UNIQUE_NAME}")


def reference_unique_field(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        model = apps.get_model("payments", "Benefit")
        schema_editor.remove_constraint(
            model, models.UniqueConstraint(fields=["reference"], name=UNIQUE_NAME)
        )
        old = models.CharField(max_length=40)
        old.set_attributes_from_name("reference")
        old.model = model
        new = models.CharField(max_length=40, unique=True)
        new.set_attributes_from_name("reference")
        new.model = model
        schema_editor.alter_field(model, old, new)
        return
    schema_editor.execute(
        f"ALTER TABLE {TABLE} RENAME CONSTRAINT {UNIQUE_NAME} TO {_old_unique_name(schema_editor)}"
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {_like_index_name(schema_editor)} ON {TABLE} (reference varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_benefit_events")]

    operations = [
        migrations.RemoveIndex(model_name="benefit", name="benefit_beneficiary_idx"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="benefit", name="reference", field=models.CharField(max_length=40)
                ),
                migrations.AddConstraint(
                    model_name="benefit",
                    constraint=models.UniqueConstraint(fields=("reference",), name=UNIQUE_NAME),
                ),
            ],
            database_operations=[migrations.RunPython(reference_unique_constraint, reference_unique_field)],
        ),
        migrations.AddIndex(
            model_name="benefit",
            index=models.Index(
                condition=models.Q(("transaction_id", ""), _negated=True),
                fields=["transaction_id"],
                name="benefit_transaction_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="reconciliationbatch",
            index=models.Index(fields=["idempotency_key"], name="provider_request_key_idx"),
        ),
    ]
