"""The sandbox's tariff catalogue: one tariff of each OCPI shape, all in EUR.

Shapes: energy only, time only, flat + energy, energy + idle (parking time) fee after a grace
period, power tiers (max_power), kWh tiers (min/max_kwh), time of day (start/end_time), weekend
(day_of_week), duration tiers (max_duration), a min/max price, and free of charge.
AC connectors draw from `AC_TARIFF_IDS`, DC connectors from `DC_TARIFF_IDS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Fixed and in the past: no tariff changes while a sandbox runs.
PUBLISHED = datetime(2025, 12, 2, tzinfo=UTC)
VAT = 21.0  # one VAT rate for the sandbox; real CPOs use the rate of the site's country


def _component(
    kind: str, price: float, step_size: int = 1, vat: float | None = VAT
) -> dict[str, Any]:
    component: dict[str, Any] = {"type": kind, "price": price, "step_size": step_size}
    if vat is not None:
        component["vat"] = vat
    return component


def _tariff(
    tariff_id: str, text: str, elements: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": tariff_id,
        "currency": "EUR",
        "type": "REGULAR",
        "tariff_alt_text": [{"language": "en", "text": text}],
        "elements": elements,
        **extra,
    }


TARIFF_TEMPLATES: tuple[dict[str, Any], ...] = (
    _tariff(
        "AC-ENERGY",
        "EUR 0.39 per kWh.",
        [{"price_components": [_component("ENERGY", 0.39)]}],
    ),
    _tariff(
        "AC-TIME",
        "EUR 2.00 per hour of charging, billed per minute.",
        [{"price_components": [_component("TIME", 2.00, 60)]}],
    ),
    _tariff(
        "AC-IDLE",
        "EUR 0.35 per kWh; after 2 hours, EUR 6.00 per hour parked without charging.",
        [
            {"price_components": [_component("ENERGY", 0.35)]},
            {
                "price_components": [_component("PARKING_TIME", 6.00, 60)],
                "restrictions": {"min_duration": 7200},
            },
        ],
    ),
    _tariff(
        "AC-DAYTIME",
        "EUR 0.45 per kWh from 07:00 to 23:00, EUR 0.29 per kWh at night.",
        [
            {
                "price_components": [_component("ENERGY", 0.45)],
                "restrictions": {"start_time": "07:00", "end_time": "23:00"},
            },
            {"price_components": [_component("ENERGY", 0.29)]},
        ],
    ),
    _tariff(
        "AC-WEEKEND",
        "EUR 0.30 per kWh at weekends, EUR 0.40 per kWh on weekdays.",
        [
            {
                "price_components": [_component("ENERGY", 0.30)],
                "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]},
            },
            {"price_components": [_component("ENERGY", 0.40)]},
        ],
    ),
    _tariff(
        "AC-LONG-STAY",
        "EUR 0.25 per kWh plus EUR 1.00 per hour for the first 3 hours, EUR 3.00 per hour after.",
        [
            {
                "price_components": [_component("ENERGY", 0.25), _component("TIME", 1.00, 300)],
                "restrictions": {"max_duration": 10800},
            },
            {"price_components": [_component("ENERGY", 0.25), _component("TIME", 3.00, 300)]},
        ],
    ),
    _tariff(
        "AC-FREE",
        "Free of charge.",
        [{"price_components": [_component("FLAT", 0.0, 0)]}],
    ),
    _tariff(
        "DC-FLAT-ENERGY",
        "EUR 1.00 start fee plus EUR 0.59 per kWh.",
        [{"price_components": [_component("FLAT", 1.00, 1), _component("ENERGY", 0.59)]}],
    ),
    _tariff(
        "DC-POWER",
        "EUR 0.69 per kWh at 150 kW or more, EUR 0.55 per kWh below.",
        [
            {
                "price_components": [_component("ENERGY", 0.55)],
                "restrictions": {"max_power": 150.0},
            },
            {"price_components": [_component("ENERGY", 0.69)]},
        ],
    ),
    _tariff(
        "DC-KWH-TIERS",
        "EUR 0.65 per kWh for the first 20 kWh, EUR 0.49 per kWh after.",
        [
            {
                "price_components": [_component("ENERGY", 0.65, 100)],
                "restrictions": {"max_kwh": 20.0},
            },
            {"price_components": [_component("ENERGY", 0.49, 100)]},
        ],
    ),
    _tariff(
        "DC-MIN-MAX",
        "EUR 0.79 per kWh, at least EUR 2.00 and at most EUR 40.00 a session.",
        [{"price_components": [_component("ENERGY", 0.79)]}],
        min_price={"excl_vat": 2.00, "incl_vat": 2.42},
        max_price={"excl_vat": 40.00, "incl_vat": 48.40},
    ),
)

AC_TARIFF_IDS: tuple[str, ...] = tuple(
    t["id"] for t in TARIFF_TEMPLATES if str(t["id"]).startswith("AC-")
)
DC_TARIFF_IDS: tuple[str, ...] = tuple(
    t["id"] for t in TARIFF_TEMPLATES if str(t["id"]).startswith("DC-")
)


def tariffs_generate(*, country_code: str, party_id: str) -> list[dict[str, Any]]:
    """The tariff catalogue as the party's OCPI Tariff objects."""
    return [
        {"country_code": country_code, "party_id": party_id, **t, "last_updated": PUBLISHED}
        for t in TARIFF_TEMPLATES
    ]
