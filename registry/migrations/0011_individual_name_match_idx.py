"""The name index carries birth date and location too, so matching an upload's people against the registry
(`registry.matching.name_matches`: same names, birth date and location) is one index probe per row.

With names alone, a common pair of names at 10,000,000 people is about 1,400 index entries, each checked
on the table for its birth date and location: a nested loop over an upload read millions of table rows,
and a hash join read the whole table (100,000 rows: 15.7 s hashed, over 100 s by nested loop; with this
index 2.1 s). The index keeps serving prefix search, equality and the name order of lists (an incremental
sort of the first names' group). Its cost: 450 MB at 10M people instead of 99 MB, where the names alone
compressed well.
"""

import django.db.models.functions.text
from django.db import migrations, models

EXPRESSION = (
    '(UPPER(family_name::text)) COLLATE "C", (UPPER(given_name::text)) COLLATE "C", birth_date, location_id'
)
OLD_EXPRESSION = '(UPPER(family_name::text)) COLLATE "C", (UPPER(given_name::text)) COLLATE "C"'


def _postgresql_swap(schema_editor, expression: str, marker: str, present: bool) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'individual_name_idx'")
        row = cursor.fetchone()
    if row and (marker in row[0]) == present:
        return  # already in the wanted shape (e.g. built by hand on a large registry before migrating)
    schema_editor.execute("DROP INDEX IF EXISTS individual_name_idx")
    schema_editor.execute(f"CREATE INDEX individual_name_idx ON registry_individual ({expression})")


def _index(*columns) -> models.Index:
    upper = django.db.models.functions.text.Upper
    return models.Index(upper("family_name"), upper("given_name"), *columns, name="individual_name_idx")


NEW_INDEX = _index(models.F("birth_date"), models.F("location"))
OLD_INDEX = _index()


def _swap(apps, schema_editor, old: models.Index, new: models.Index) -> None:
    # SQLite keeps plain UPPER(name) indexes (no "C" collation there), as migration 0007 made them.
    model = apps.get_model("registry", "Individual")
    schema_editor.remove_index(model, old)
    schema_editor.add_index(model, new)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _postgresql_swap(schema_editor, EXPRESSION, "birth_date", True)
    else:
        _swap(apps, schema_editor, OLD_INDEX, NEW_INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _postgresql_swap(schema_editor, OLD_EXPRESSION, "birth_date", False)
    else:
        _swap(apps, schema_editor, NEW_INDEX, OLD_INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_finding_people"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="individual", name="individual_name_idx"),
                migrations.AddIndex(model_name="individual", index=NEW_INDEX),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
