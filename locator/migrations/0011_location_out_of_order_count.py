"""Stations count their EVSEs out of order (OUTOFORDER or INOPERATIVE), so the map tells a broken
station from a busy one; the count is filled in for the stations already held."""

from typing import Any

from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery


def count_out_of_order(apps: Any, schema_editor: Any) -> None:
    location_model = apps.get_model("locator", "Location")
    evse_model = apps.get_model("locator", "Evse")
    broken = evse_model.objects.filter(status__in=["OUTOFORDER", "INOPERATIVE"])
    counts = (
        broken.filter(location=OuterRef("pk"))
        .order_by()
        .values("location")
        .annotate(n=Count("id"))
        .values("n")
    )
    location_model.objects.filter(id__in=broken.values("location_id")).update(
        out_of_order_count=Subquery(counts)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("locator", "0010_location_restricted"),
    ]

    operations = [
        migrations.AddField(
            model_name="location",
            name="out_of_order_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_out_of_order, migrations.RunPython.noop),
    ]
