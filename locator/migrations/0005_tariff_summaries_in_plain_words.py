"""Rewrite every stored tariff's summary in the plain words of locator.pricing (restrictions
as people say them, VAT, start fee, min/max price), so lists show them before the next pull."""

from typing import Any

from django.db import migrations


def summaries_rewrite(apps: Any, schema_editor: Any) -> None:
    from locator.pricing import describe

    tariff_model = apps.get_model("locator", "Tariff")
    batch = []
    for tariff in tariff_model.objects.all().iterator(chunk_size=1000):
        tariff.summary = describe(
            tariff.elements,
            tariff.currency,
            min_price=tariff.min_price,
            max_price=tariff.max_price,
        )[:255]
        batch.append(tariff)
        if len(batch) == 1000:
            tariff_model.objects.bulk_update(batch, ["summary"])
            batch = []
    tariff_model.objects.bulk_update(batch, ["summary"])


class Migration(migrations.Migration):
    dependencies = [("locator", "0004_connector_terms_255")]

    operations = [migrations.RunPython(summaries_rewrite, migrations.RunPython.noop)]
