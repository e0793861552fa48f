"""Tariffs keep their words in every language and their lowest energy price, written with
them, so a station list reads its prices as written (locator.summaries) instead of loading and
wording tariffs on every request. Fills both for the tariffs already held."""

from typing import Any

from django.db import migrations, models


def words_write(apps: Any, schema_editor: Any) -> None:
    from locator.pricing import SUMMARY_LANGUAGE, lowest_energy_price, tariff_summaries

    tariff_model = apps.get_model("locator", "Tariff")
    batch = []
    for tariff in tariff_model.objects.all().iterator(chunk_size=1000):
        summaries = tariff_summaries(tariff)
        tariff.summary = summaries.pop(SUMMARY_LANGUAGE)
        tariff.summaries = summaries
        tariff.lowest_energy_price = lowest_energy_price(tariff.elements)
        batch.append(tariff)
        if len(batch) == 1000:
            tariff_model.objects.bulk_update(batch, ["summary", "summaries", "lowest_energy_price"])
            batch = []
    tariff_model.objects.bulk_update(batch, ["summary", "summaries", "lowest_energy_price"])


class Migration(migrations.Migration):
    dependencies = [("locator", "0014_grid_dirty_marks")]

    operations = [
        migrations.AddField(
            model_name="tariff",
            name="summaries",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="tariff",
            name="lowest_energy_price",
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=16, null=True),
        ),
        migrations.RunPython(words_write, migrations.RunPython.noop),
    ]
