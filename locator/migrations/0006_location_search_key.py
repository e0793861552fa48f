"""Stations get the words the place search matches (locator.places.search_key), filled in here
for the stations already held; the catalogue writes them from now on."""

from typing import Any

from django.db import migrations, models


def search_keys_fill(apps: Any, schema_editor: Any) -> None:
    from locator.places import search_key

    location_model = apps.get_model("locator", "Location")
    batch = []
    rows = location_model.objects.only("id", "name", "address", "postal_code", "city")
    for location in rows.iterator(chunk_size=2000):
        location.search_key = search_key(
            name=location.name,
            address=location.address,
            postal_code=location.postal_code,
            city=location.city,
        )
        batch.append(location)
        if len(batch) == 2000:
            location_model.objects.bulk_update(batch, ["search_key"])
            batch = []
    location_model.objects.bulk_update(batch, ["search_key"])


class Migration(migrations.Migration):
    dependencies = [("locator", "0005_tariff_summaries_in_plain_words")]

    operations = [
        migrations.AddField(
            model_name="location",
            name="search_key",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(search_keys_fill, migrations.RunPython.noop),
    ]
