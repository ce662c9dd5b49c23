"""Indexes of the ticket list's combined filters (status and category; overdue tickets of a place), and none
on the escalated role (never filtered; the SLA job writes it on every ticket it escalates)."""

import django.db.models.deletion
from django.db import migrations, models


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
    ]
