"""Each batch records the area its rows were validated in (the uploader's locations), so that only users who
see that whole area see the batch, its rejected and skipped rows and its file."""

from django.db import migrations, models


def areas_from_uploaders(apps, schema_editor):
    """Batches uploaded before this migration get their uploader's locations of today (every root location
    for a superuser or administrator)."""
    ImportBatch = apps.get_model("uploads", "ImportBatch")
    Location = apps.get_model("registry", "Location")
    UserProfile = apps.get_model("portal", "UserProfile")
    Areas = ImportBatch.areas.through
    roots = list(Location.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    links = []
    for batch_id, user_id, superuser in ImportBatch.objects.values_list(
        "pk", "uploaded_by_id", "uploaded_by__is_superuser"
    ).iterator():
        everywhere = superuser or ImportBatch.objects.filter(
            pk=batch_id, uploaded_by__groups__name="Administrator"
        ).exists()
        locations = (
            roots
            if everywhere
            else UserProfile.locations.through.objects.filter(userprofile__user_id=user_id).values_list(
                "location_id", flat=True
            )
        )
        links += [Areas(importbatch_id=batch_id, location_id=location) for location in locations]
    Areas.objects.bulk_create(links, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("registry", "0007_bulk_write_lean_names_and_keys"),
        ("uploads", "0004_batch_last_individual"),
    ]

    operations = [
        migrations.AddField(
            model_name="importbatch",
            name="areas",
            field=models.ManyToManyField(
                blank=True,
                help_text="The uploader's locations when the file was validated (every root location for an "
                "uploader who sees everywhere): its rows lie there, and only users who see all of them see the batch",
                related_name="+",
                to="registry.location",
            ),
        ),
        migrations.AlterField(
            model_name="stagedrow",
            name="match_kind",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="document, name, file:<what>, ambiguous:<what>, or outside (a document of someone "
                "outside the uploader's area)",
                max_length=32,
            ),
        ),
        migrations.RunPython(areas_from_uploaders, migrations.RunPython.noop),
    ]
