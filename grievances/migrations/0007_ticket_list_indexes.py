"""Indexes of the ticket list's combined filters (status and category; overdue tickets of a place), and none
on the escalated role (never filtered; the SLA job writes it on every ticket it escalates).

On PostgreSQL, statistics of status, category and team together (most common combinations, dependencies):
the planner otherwise multiplies their shares as if independent, and for a combination that has few or no
tickets it expected a match every few hundred rows and walked the primary key through the whole table
(seconds at 1,000,000 tickets) instead of reading the composite index."""

import django.db.models.deletion
from django.db import migrations, models


STATISTICS = "ticket_status_category_team_stats"


def statistics_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv, dependencies) "
            "ON status, category_id, team_id FROM grievances_ticket"
        )


def statistics_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("grievances", "0006_ticket_partner"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ticket",
            name="escalated_to",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="auth.group",
                verbose_name="escalated to",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "category", "id"], name="ticket_status_category_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("overdue", True)),
                fields=["location", "id"],
                name="ticket_overdue_location_idx",
            ),
        ),
        migrations.RunPython(statistics_create, statistics_drop),
    ]
