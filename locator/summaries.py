"""A station as search lists and favourites show it: one dict a row, with its price in one
line and its status in words. Called by locator.selectors on the catalogue rows it read, each
with its tariffs' words (`tariffs`), so a list loads no tariff."""

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.utils.translation import get_language

from locator import live, pricing
from locator.catalogue import standard_label


def station_summaries(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The list entries of these rows (`LIST_FIELDS` values and their `tariffs`, as
    locator.selectors reads them)."""
    prices = _price_hints(rows)
    statuses = live.StationStatusTexts(now)
    return [_summary(row, now, prices, statuses) for row in rows]


def _price_hints(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each station's price in one line, from its tariffs' words as the row holds them."""
    language = get_language()
    return {row["id"]: _price_line(language, row["tariffs"]) for row in rows}


@functools.lru_cache(maxsize=4096)
def _price_line(language: str | None, tariffs: str | None) -> str:
    """pricing.headline over `tariffs` (the JSON text of selectors.TARIFFS_COLUMN) in
    `language`, the active one. Stations of one operator mostly share their tariffs, so each
    set is worded once per process."""
    return pricing.headline(
        [
            pricing.TariffWords(words or "", Decimal(price) if price else None, currency)
            for words, price, currency in orjson.loads(tariffs or "null") or ()
        ]
    )


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
