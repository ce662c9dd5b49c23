"""A ticket names the API partner that filed it by a foreign key (it was the partner's name in a text
column): each ticket's name is matched to its partner, set-based, before the text column goes."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def partners_link(apps, schema_editor):
    Ticket = apps.get_model("grievances", "Ticket")
    GrievancePartner = apps.get_model("grievances", "GrievancePartner")
    named = GrievancePartner.objects.filter(name=OuterRef("api_client")).values("pk")[:1]
    Ticket.objects.exclude(api_client="").update(partner=Subquery(named))


def partners_unlink(apps, schema_editor):
    Ticket = apps.get_model("grievances", "Ticket")
    GrievancePartner = apps.get_model("grievances", "GrievancePartner")
    name = GrievancePartner.objects.filter(pk=OuterRef("partner_id")).values("name")[:1]
    Ticket.objects.filter(partner__isnull=False).update(api_client=Subquery(name))


class Migration(migrations.Migration):
    dependencies = [
        ("grievances", "0005_payment_not_received_category"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalticket",
            name="partner",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="grievances.grievancepartner",
                verbose_name="API partner",
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="partner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="grievances.grievancepartner",
                verbose_name="API partner",
            ),
        ),
        migrations.RunPython(partners_link, partners_unlink),
        migrations.RemoveField(model_name="historicalticket", name="api_client"),
        migrations.RemoveField(model_name="ticket", name="api_client"),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("partner__isnull", False)), fields=["partner"], name="ticket_partner_idx"
            ),
        ),
    ]
