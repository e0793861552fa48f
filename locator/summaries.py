"""A station as search lists and favourites show it: one dict a row, with its price in one
line and its status in words. Called by locator.selectors on the catalogue rows it read."""

import functools
from datetime import datetime
from typing import Any

from locator import live, pricing
from locator.catalogue import standard_label
from locator.models import Tariff


def station_summaries(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The list entries of these rows (`LIST_FIELDS` values), with one query for the prices."""
    prices = _price_hints(rows)
    statuses = live.StationStatusTexts(now)
    return [_summary(row, now, prices, statuses) for row in rows]


def _row_tariffs(row: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    ids = row["tariff_ids"] or ([row["tariff_id"]] if row["tariff_id"] else [])
    return [(row["source"], row["country_code"], row["party_id"], t) for t in ids]


# What pricing.headline reads of a tariff, in any language (min and max price too).
TARIFF_WORDS_FIELDS = (
    "source",
    "country_code",
    "party_id",
    "ocpi_id",
    "summary",
    "elements",
    "currency",
    "min_price",
    "max_price",
)


def _price_hints(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each station's price in one line (pricing.headline over its connectors' tariffs), in
    one query; stations of one operator mostly share their tariffs, so each set is worded once."""
    wanted = {key for row in rows for key in _row_tariffs(row)}
    if not wanted:
        return {}
    found = {
        (t.source, t.country_code, t.party_id, t.ocpi_id): t
        for t in Tariff.objects.filter(
            source__in={w[0] for w in wanted}, ocpi_id__in={w[3] for w in wanted}
        ).only(*TARIFF_WORDS_FIELDS)
    }
    worded: dict[tuple[tuple[str, str, str, str], ...], str] = {}
    lowest_price = functools.cache(pricing.lowest_energy_price)
    hints = {}
    for row in rows:
        keys = tuple(k for k in _row_tariffs(row) if k in found)
        if keys not in worded:
            worded[keys] = pricing.headline([found[k] for k in keys], lowest_price=lowest_price)
        hints[row["id"]] = worded[keys]
    return hints


def _summary(
    row: dict[str, Any], now: datetime, prices: dict[int, str], statuses: live.StationStatusTexts
) -> dict[str, Any]:
    status_at: datetime | None = row["status_at"]
    return {
        "id": row["id"],
        "name": row["name"] or row["address"],
        "address": row["address"],
        "city": row["city"],
        "postal_code": row["postal_code"],
        "lat": row["lat"],
        "lon": row["lon"],
        "operator": row["operator_name"],
        "max_power_kw": row["max_power_kw"],
        "connectors": {
            standard: {**counts, "label": standard_label(standard)}
            for standard, counts in sorted(row["connector_counts"].items())
        },
        "evses": row["evse_count"],
        "available": row["available_count"],
        "out_of_order": row["out_of_order_count"],
        "remote_start": row["remote_start"],
        "price": prices.get(row["id"], ""),
        "status_at": status_at.isoformat() if status_at else None,
        "status_age_s": int((now - status_at).total_seconds()) if status_at else None,
        "status_stale": statuses.stale(status_at),
        "status_text": statuses.text(
            available=row["available_count"],
            evses=row["evse_count"],
            out_of_order=row["out_of_order_count"],
            reported_at=status_at,
        ),
        "url": f"/stations/{row['id']}/",
    }
