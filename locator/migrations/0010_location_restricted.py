"""Stations published only to some drivers (`publish_allowed_to`) become `restricted` instead
of `visible`; the grid cells they leave are marked for a refresh."""

from typing import Any

from django.db import migrations, models


def restrict_limited_stations(apps: Any, schema_editor: Any) -> None:
    location_model = apps.get_model("locator", "Location")
    dirty_model = apps.get_model("locator", "GridDirtyCell")
    limited = location_model.objects.exclude(publish_allowed_to=[]).filter(
        hidden=False, evse_count__gt=0
    )
    cells = set(limited.filter(visible=True).values_list("cell", flat=True))
    limited.update(restricted=True, visible=False)
    dirty_model.objects.bulk_create(
        [dirty_model(cell=cell) for cell in cells], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("locator", "0009_favourites"),
    ]

    operations = [
        migrations.AddField(
            model_name="location",
            name="restricted",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="location",
            index=models.Index(
                condition=models.Q(("restricted", True)), fields=["id"], name="location_restricted"
            ),
        ),
        migrations.RunPython(restrict_limited_stations, migrations.RunPython.noop),
    ]
