"""A station as search lists and favourites show it: one dict a row, with its price in one
line and its status in words. Called by locator.selectors on the catalogue rows it read."""

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.translation import get_language

from config.db.base import statement_cursor
from locator import live, pricing
from locator.catalogue import standard_label
from locator.models import Tariff
from locator.pricing import TariffWords


def station_summaries(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The list entries of these rows (`LIST_FIELDS` values), with one query for the prices."""
    prices = _price_hints(rows)
    statuses = live.StationStatusTexts(now)
    standards = {standard for row in rows for standard in row["connector_counts"]}
    labels = {standard: standard_label(standard) for standard in standards}
    return [_summary(row, now, prices, statuses, labels) for row in rows]


TariffKey = tuple[str, str, str, str]  # source, country_code, party_id, ocpi_id
# A tariff's words in the language of the parameter: as written with it (Tariff.summaries; the
# SUMMARY_LANGUAGE's, or a language added since, in `summary`).
_SUMMARY_IN = {
    "postgresql": "COALESCE(summaries ->> %s, summary)",
    "sqlite": "COALESCE(json_extract(summaries, '$.\"' || %s || '\"'), summary)",
}


def _row_tariffs(row: dict[str, Any]) -> tuple[TariffKey, ...]:
    ids = row["tariff_ids"] or ([row["tariff_id"]] if row["tariff_id"] else [])
    return tuple((row["source"], row["country_code"], row["party_id"], t) for t in ids)


def _price_hints(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each station's price in one line (pricing.headline over its connectors' tariffs), from
    one query for the words of the tariffs the rows name."""
    named = {row["id"]: _row_tariffs(row) for row in rows}
    language = get_language()
    tariff_sets = set(named.values())  # an operator's stations mostly share theirs
    words = _tariff_words({key for keys in tariff_sets for key in keys}, language)
    lines = {
        keys: _price_line(language, tuple(words[key] for key in keys if key in words))
        for keys in tariff_sets
    }
    return {station: lines[keys] for station, keys in named.items()}


def _tariff_words(keys: set[TariffKey], language: str | None) -> dict[TariffKey, TariffWords]:
    """What the headline reads of these tariffs (those held), in `language`: the words and the
    lowest energy price written with each tariff, in one plain query (no model per tariff),
    prepared on PostgreSQL: its text differs only by how many tariffs it names."""
    if not keys:
        return {}
    with statement_cursor(connection) as cursor:
        cursor.execute(
            f"SELECT source, country_code, party_id, ocpi_id, {_SUMMARY_IN[connection.vendor]},"  # noqa: S608 (constants)
            f" lowest_energy_price, currency FROM {Tariff._meta.db_table}"
            " WHERE (source, country_code, party_id, ocpi_id) IN"
            f" ({', '.join(['(%s, %s, %s, %s)'] * len(keys))})",
            [language or pricing.SUMMARY_LANGUAGE, *(part for key in keys for part in key)],
        )
        return {
            (source, cc, party, ocpi_id): TariffWords(
                text or "", None if price is None else Decimal(str(price)), currency
            )
            for source, cc, party, ocpi_id, text, price, currency in cursor.fetchall()
        }


@functools.lru_cache(maxsize=4096)
def _price_line(language: str | None, tariffs: tuple[TariffWords, ...]) -> str:
    """pricing.headline in `language`, the active one. Stations of one operator mostly share
    their tariffs, so each set is worded once per process."""
    return pricing.headline(tariffs)


def _summary(
    row: dict[str, Any],
    now: datetime,
    prices: dict[int, str],
    statuses: live.StationStatusTexts,
    labels: dict[str, str],
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
            standard: {**counts, "label": labels[standard]}
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
