"""Payment lines by (cycle, location): the dashboard's refresh after a reconciliation recounts only the
locations the provider's lines are in, not every line of the cycle (issue 24)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0007_benefit_reissue'),
        ('programs', '0003_benefit_plan_ceiling_action'),
        ('registry', '0009_household_code_one_index'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='benefit',
            index=models.Index(fields=['cycle', 'location'], name='benefit_cycle_location_idx'),
        ),
    ]
