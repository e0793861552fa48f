"""Tariffs: a pull's pages and pushed PUTs, and DELETE. Older records never overwrite newer."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from locator import pricing
from locator.catalogue import bulk
from locator.catalogue.records import TariffRecord, UpsertResult
from locator.catalogue.rules import Identity, identity_lookup
from locator.models import Tariff


@transaction.atomic
def catalogue_tariffs_upsert(*, source: str, records: Sequence[TariffRecord]) -> UpsertResult:
    """Create or replace tariffs (a pull page or one pushed PUT); older records are skipped.
    What lists show is written with each tariff: its words in every language and its lowest
    energy price."""
    result = UpsertResult()
    held = {
        (cc, party, ocpi_id): updated
        for cc, party, ocpi_id, updated in Tariff.objects.filter(
            source=source, ocpi_id__in={r.id for r in records}
        ).values_list("country_code", "party_id", "ocpi_id", "last_updated")
    }
    rows: dict[Identity, dict[str, Any]] = {}
    for record in records:
        key = (record.country_code.upper(), record.party_id.upper(), record.id)
        if key in held and held[key] > record.last_updated:
            continue
        if key in rows and rows[key]["last_updated"] > record.last_updated:
            continue
        summaries = pricing.tariff_summaries(record)
        rows[key] = {
            "source": source,
            "country_code": key[0],
            "party_id": key[1],
            "ocpi_id": record.id,
            "currency": record.currency.upper()[:3],
            "type": record.type,
            "elements": list(record.elements),
            "tariff_alt_text": list(record.tariff_alt_text),
            "tariff_alt_url": record.tariff_alt_url,
            "min_price": record.min_price,
            "max_price": record.max_price,
            "start_date_time": record.start_date_time,
            "end_date_time": record.end_date_time,
            "summary": summaries.pop(pricing.SUMMARY_LANGUAGE),
            "summaries": summaries,
            "lowest_energy_price": pricing.lowest_energy_price(record.elements),
            "last_updated": record.last_updated,
        }
    written = bulk.upsert(
        Tariff,
        bulk.columns_of(list(rows.values())),
        unique=("source", "country_code", "party_id", "ocpi_id"),
        update=[
            name
            for name in next(iter(rows.values()), {})
            if name not in ("source", "country_code", "party_id", "ocpi_id")
        ],
        newer_only="last_updated",
    )
    result.written = len(written)
    result.skipped_stale = len(records) - len(written)
    return result


@transaction.atomic
def catalogue_tariff_delete(
    *, source: str, country_code: str, party_id: str, tariff_id: str
) -> bool:
    """Delete a tariff (OCPI DELETE). Connectors still naming it show no price. Returns
    whether there was one to delete."""
    lookup = identity_lookup(source, country_code, party_id, tariff_id)
    deleted, _ = Tariff.objects.filter(**lookup).delete()
    return deleted > 0
