"""The category of the tickets that payment verification opens by itself: "Payment not received"."""

from django.db import migrations


def create_category(apps, schema_editor):
    Category = apps.get_model("grievances", "Category")
    Category.objects.get_or_create(
        code="payment-not-received", defaults={"name": "Payment not received", "sla_days": 14}
    )


def remove_category(apps, schema_editor):
    apps.get_model("grievances", "Category").objects.filter(code="payment-not-received", tickets=None).delete()


class Migration(migrations.Migration):
    dependencies = [("grievances", "0004_notification_templates")]

    operations = [migrations.RunPython(create_category, remove_category)]
