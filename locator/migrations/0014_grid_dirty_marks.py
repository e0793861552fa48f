"""A dirty grid cell may carry many marks (locator.models.GridDirtyCell): writes add marks
without conflict checks, so a page of a pull no longer waits for a running refresh that holds
a mark of the same cell. The table gets an id; the marks waiting at migration time are kept."""

from typing import Any

from django.db import migrations, models


def marks_copy(apps: Any, schema_editor: Any) -> None:
    old = apps.get_model("locator", "GridDirtyCellUnique")
    new = apps.get_model("locator", "GridDirtyCell")
    new.objects.bulk_create(
        [new(cell=cell) for cell in old.objects.values_list("cell", flat=True)], batch_size=5000
    )


def marks_copy_back(apps: Any, schema_editor: Any) -> None:
    old = apps.get_model("locator", "GridDirtyCellUnique")
    new = apps.get_model("locator", "GridDirtyCell")
    cells = set(new.objects.values_list("cell", flat=True))
    old.objects.bulk_create([old(cell=cell) for cell in cells], batch_size=5000)


class Migration(migrations.Migration):
    dependencies = [("locator", "0013_location_mercator_gist")]

    operations = [
        migrations.RenameModel("GridDirtyCell", "GridDirtyCellUnique"),
        migrations.CreateModel(
            name="GridDirtyCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cell", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(marks_copy, marks_copy_back),
        migrations.DeleteModel("GridDirtyCellUnique"),
    ]
