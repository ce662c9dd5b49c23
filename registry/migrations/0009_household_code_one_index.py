# Issue 24, item 3: one index for a household's code instead of two. The unique index built with
# varchar_pattern_ops serves equality (admin search, upload matching, the commit's join by code) and prefixes
# (the "code starts with" filter); the plain unique index beside it was one more index to keep up on every
# insert (pg_stat_user_indexes after a load run: the searches used the pattern index). The history table's two
# code indexes (no query reads history by code) go with the field's unique=True.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0008_registry_foreign_keys_back'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalhousehold',
            name='code',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='household',
            name='code',
            field=models.CharField(max_length=64),
        ),
        migrations.AddConstraint(
            model_name='household',
            constraint=models.UniqueConstraint(fields=('code',), name='household_code_unique', opclasses=['varchar_pattern_ops']),
        ),
    ]
