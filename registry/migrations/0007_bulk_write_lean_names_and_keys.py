"""Cheaper writes of a million people: fewer and cheaper indexes, fewer row-by-row FK checks.

- Names: the (UPPER(family), given) index and the two text_pattern_ops prefix indexes of 0004 become
  two indexes on UPPER(name) in the "C" collation — bytewise comparisons (the default collation's were
  the costliest index to maintain: 7 s per million rows), usable by prefix search, equality and the
  name order of lists (which now sorts in that collation, see registry.selectors.name_order_key).
- Status and registration source: partial indexes on the rare values only.
- Identity documents: the unique (value, doc_type) index also serves search by number; the index on
  value alone goes.
- No database FK constraint on Individual.location and Household.location (as Beneficiary.location),
  nor on the person and household of identity documents and memberships: checked one row at a time at
  COMMIT, they were a third of a million-row upload's commit (see IdentityDocument in registry/models.py
  for what keeps those references right instead).
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

OLD_PREFIX_INDEXES = {
    "individual_family_prefix_idx": "UPPER(family_name::text) text_pattern_ops",
    "individual_given_prefix_idx": "UPPER(given_name::text) text_pattern_ops",
}
C_INDEXES = {
    "individual_name_idx": '(UPPER(family_name::text)) COLLATE "C", (UPPER(given_name::text)) COLLATE "C"',
    "individual_given_idx": '(UPPER(given_name::text)) COLLATE "C"',
}
NAME_INDEXES = [
    models.Index(
        django.db.models.functions.text.Upper("family_name"),
        django.db.models.functions.text.Upper("given_name"),
        name="individual_name_idx",
    ),
    models.Index(django.db.models.functions.text.Upper("given_name"), name="individual_given_idx"),
]


def name_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        model = apps.get_model("registry", "Individual")
        for index in NAME_INDEXES:
            schema_editor.add_index(model, index)
        return
    for name, expression in C_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON registry_individual ({expression})")
    for name in OLD_PREFIX_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def name_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        model = apps.get_model("registry", "Individual")
        for index in NAME_INDEXES:
            schema_editor.remove_index(model, index)
        return
    for name in C_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for name, expression in OLD_PREFIX_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON registry_individual ({expression})")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_lean_bulk_write_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="household",
            name="location",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="households",
                to="registry.location",
            ),
        ),
        migrations.AlterField(
            model_name="individual",
            name="location",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="individuals",
                to="registry.location",
            ),
        ),
        migrations.AlterField(
            model_name="householdmember",
            name="household",
            field=models.ForeignKey(
                db_constraint=False,
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
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="registry.individual",
            ),
        ),
        migrations.AlterField(
            model_name="identitydocument",
            name="individual",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="documents",
                to="registry.individual",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="identitydocument",
            name="identity_document_unique",
        ),
        migrations.AddConstraint(
            model_name="identitydocument",
            constraint=models.UniqueConstraint(fields=("value", "doc_type"), name="identity_document_unique"),
        ),
        migrations.RemoveIndex(
            model_name="identitydocument",
            name="identity_document_value_idx",
        ),
        migrations.RemoveIndex(
            model_name="individual",
            name="individual_family_name_idx",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="individual", index=index) for index in NAME_INDEXES
            ],
            database_operations=[migrations.RunPython(name_indexes_create, name_indexes_drop)],
        ),
        migrations.RemoveIndex(
            model_name="individual",
            name="individual_status_idx",
        ),
        migrations.RemoveIndex(
            model_name="individual",
            name="individual_source_idx",
        ),
        migrations.AddIndex(
            model_name="individual",
            index=models.Index(
                condition=models.Q(("status", "active"), _negated=True),
                fields=["status"],
                name="individual_rare_status_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="individual",
            index=models.Index(
                condition=models.Q(("registration_source", "upload"), _negated=True),
                fields=["registration_source"],
                name="individual_rare_source_idx",
            ),
        ),
    ]
