"""Tariffs in plain words: every tariff shape of the OCPI 2.2.1 spec's examples and of the
sandbox, each with the sentence a driver reads written out; and the estimate of a charge."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from locator.pricing import describe, estimate
from sandbox.tariffs import TARIFF_TEMPLATES

EXAMPLES = Path(__file__).parent.parent / "roaming" / "ocpi_examples_221"

# The spec's examples (tests/roaming/ocpi_examples_221, a copy of shared/ocpi-examples/2.2.1;
# 2.3.0's differ only in the tax fields our catalogue converts away). Reservation elements
# are left out: drivers cannot reserve through us.
SPEC_SENTENCES = {
    "tariff_1_simple_2hour.json": "€2.20/h (incl. 10% VAT)",
    "tariff_2_alt_text.json": "€2.00/h (incl. 5.2% VAT)",
    "tariff_3_alt_url.json": "€0.60 start fee + €0.28/kWh (incl. VAT)",
    "tariff_4_complex.json": (
        "€2.88 start fee; €1.20/h below 32 A, €2.40/h at 32 A or more on weekdays, €1.50/h at "
        "32 A or more at weekends; €5.50/h parking on weekdays from 09:00 to 18:00, €6.60/h "
        "parking on Saturdays from 10:00 to 17:00 (incl. VAT)"
    ),
    "tariff_5_free_of_charge.json": "Free",
    "tariff_6_025kwh_start_max_price.json": (
        "€0.60 start fee + €0.28/kWh; at most €11.00 a charge (incl. VAT)"
    ),
    "tariff_8_simple_025kwh.json": "€0.28/kWh (incl. 10% VAT)",
    "tariff_9_025kwh_start.json": "€0.60 start fee + €0.28/kWh (incl. VAT)",
    "tariff_10_025kwh_parking_start.json": (
        "€0.60 start fee + €0.28/kWh + €0.04/min parking (incl. VAT)"
    ),
    "tariff_11_not_possible_alt_text.json": "€0.50 start fee + €2.00/h (incl. VAT)",
    "tariff_12_025kwh_min_price.json": "€0.28/kWh; at least €0.55 a charge (incl. 10% VAT)",
    "tariff_13_simple_3hour_5parking.json": "€3.30/h + €0.10/min parking (incl. VAT)",
    "tariff_14_step_size.json": (
        "€0.02/min from 00:00 to 17:00, €0.04/min from 17:00 to 00:00; €1.00/h parking from "
        "00:00 to 20:00 (no VAT)"
    ),
    "tariff_15_reservation_5_euro_per_hour.json": "€0.60 start fee + €0.28/kWh (incl. VAT)",
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": (
        "€0.60 start fee + €0.28/kWh (incl. VAT)"
    ),
    "tariff_17_reservation_with_expire_fee.json": "€0.60 start fee + €0.28/kWh (incl. VAT)",
    "tariff_18_reservation_with_expire_time.json": "€0.60 start fee + €0.28/kWh (incl. VAT)",
    "tariff_put_example.json": "€2.20/h (incl. 10% VAT)",
    "tariffrestriction_example_max_duration.json": (
        "Free for the first 30 min, €0.30/kWh up to 1 h, then €0.48/kWh (incl. 20% VAT)"
    ),
    "tariffrestriction_example_max_power.json": (
        "€0.24/kWh below 16 kW, €0.42/kWh below 32 kW, otherwise €0.60/kWh (incl. 20% VAT)"
    ),
}

SANDBOX_SENTENCES = {
    "AC-ENERGY": "€0.47/kWh (incl. 21% VAT)",
    "AC-TIME": "€0.04/min (incl. 21% VAT)",
    "AC-IDLE": "€0.42/kWh; after 2 h also €0.12/min parking (incl. 21% VAT)",
    "AC-DAYTIME": "€0.54/kWh from 07:00 to 23:00, otherwise €0.35/kWh (incl. 21% VAT)",
    "AC-WEEKEND": "€0.36/kWh at weekends, otherwise €0.48/kWh (incl. 21% VAT)",
    "AC-LONG-STAY": "€0.30/kWh; €0.02/min for the first 3 h, then €0.06/min (incl. 21% VAT)",
    "AC-FREE": "Free",
    "DC-FLAT-ENERGY": "€1.21 start fee + €0.71/kWh (incl. 21% VAT)",
    "DC-POWER": "€0.67/kWh below 150 kW, otherwise €0.83/kWh (incl. 21% VAT)",
    "DC-KWH-TIERS": "€0.79/kWh for the first 20 kWh, then €0.59/kWh (incl. 21% VAT)",
    "DC-MIN-MAX": "€0.96/kWh; €2.42 to €48.40 a charge (incl. 21% VAT)",
}


def _spec_tariff(name: str) -> dict[str, Any]:
    body = json.loads((EXAMPLES / name).read_text())
    tariff: dict[str, Any] = body.get("data", body)
    return tariff


def _words(tariff: dict[str, Any]) -> str:
    return describe(
        tariff["elements"],
        tariff["currency"],
        min_price=tariff.get("min_price"),
        max_price=tariff.get("max_price"),
    )


def test_every_tariff_shape_of_the_spec_and_the_sandbox_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("tariff*.json")} == set(SPEC_SENTENCES)
    assert {t["id"] for t in TARIFF_TEMPLATES} == set(SANDBOX_SENTENCES)


@pytest.mark.parametrize(("name", "sentence"), SPEC_SENTENCES.items())
def test_a_spec_example_reads_as_a_sentence(name: str, sentence: str) -> None:
    assert _words(_spec_tariff(name)) == sentence


@pytest.mark.parametrize(
    ("tariff", "sentence"),
    [(t, SANDBOX_SENTENCES[t["id"]]) for t in TARIFF_TEMPLATES],
    ids=lambda v: v["id"] if isinstance(v, dict) else "",
)
def test_a_sandbox_tariff_reads_as_a_sentence(tariff: dict[str, Any], sentence: str) -> None:
    assert _words(tariff) == sentence


def test_the_issues_examples_read_as_people_say_them() -> None:
    after_3h = [
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]},
        {
            "price_components": [{"type": "TIME", "price": 3.60, "step_size": 60}],
            "restrictions": {"min_duration": 10800},
        },
    ]
    assert describe(after_3h, "EUR") == "€0.30/kWh; after 3 h also €0.06/min (no VAT)"
    first_3h = [
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.30, "step_size": 1},
                {"type": "TIME", "price": 1.20, "step_size": 60},
            ],
            "restrictions": {"max_duration": 10800},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.30, "step_size": 1},
                {"type": "TIME", "price": 3.60, "step_size": 60},
            ]
        },
    ]
    assert describe(first_3h, "EUR") == (
        "€0.30/kWh; €0.02/min for the first 3 h, then €0.06/min (no VAT)"
    )


def test_other_currencies_and_days_and_clock_windows() -> None:
    elements = [
        {
            "price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}],
            "restrictions": {
                "start_time": "22:00",
                "end_time": "06:00",
                "day_of_week": ["MONDAY", "WEDNESDAY"],
            },
        },
        {"price_components": [{"type": "FLAT", "price": 1.00, "vat": 20, "step_size": 1}]},
    ]
    assert describe(elements, "GBP") == (
        "£1.20 start fee; £0.30/kWh on Mon, Wed from 22:00 to 06:00 (incl. VAT where due)"
    )
    parking_only = [
        {
            "price_components": [{"type": "PARKING_TIME", "price": 6.00, "step_size": 60}],
            "restrictions": {"min_duration": 7200},
        }
    ]
    assert describe(parking_only, "USD") == "After 2 h $0.10/min parking (no VAT)"


@dataclass
class Priced:
    elements: list[dict[str, Any]]
    currency: str = "EUR"
    min_price: dict[str, Any] | None = None
    max_price: dict[str, Any] | None = None


NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_estimate_follows_the_time_fee_threshold() -> None:
    tariff = Priced(
        [
            {"price_components": [{"type": "ENERGY", "price": 0.49, "step_size": 1}]},
            {
                "price_components": [{"type": "TIME", "price": 6.00, "step_size": 60}],
                "restrictions": {"min_duration": 3600},
            },
        ]
    )
    # 30 kWh at 40 kW takes 45 min: the time fee has not started yet.
    assert estimate(tariff, kwh=30, power_kw=40, start=NOON) == Decimal("14.70")
    # At 20 kW it takes 90 min: 30 min of time fee.
    assert estimate(tariff, kwh=30, power_kw=20, start=NOON) == Decimal("17.70")


def test_the_estimate_adds_vat_a_start_fee_and_keeps_to_min_and_max() -> None:
    spec_6 = _spec_tariff("tariff_6_025kwh_start_max_price.json")
    tariff = Priced(spec_6["elements"], max_price=spec_6["max_price"])
    # €0.60 start + 10 kWh at €0.275.
    assert estimate(tariff, kwh=10, power_kw=22, start=NOON) == Decimal("3.35")
    # 60 kWh would be €17.10: the tariff's maximum is €11.00.
    assert estimate(tariff, kwh=60, power_kw=22, start=NOON) == Decimal("11.00")
    sandbox_power = next(t for t in TARIFF_TEMPLATES if t["id"] == "DC-POWER")
    fast = Priced(sandbox_power["elements"])
    assert estimate(fast, kwh=40, power_kw=150, start=NOON) == Decimal("33.40")
    assert estimate(fast, kwh=40, power_kw=50, start=NOON) == Decimal("26.62")


def test_min_and_max_price_are_in_the_plain_words() -> None:
    """The sandbox's DC-MIN-MAX: EUR 0.79/kWh + 21 % VAT, at least 2.00, at most 40.00."""
    elements = [{"price_components": [{"type": "ENERGY", "price": 0.79, "vat": 21.0}]}]
    lowest, highest = {"excl_vat": 2.00, "incl_vat": 2.42}, {"excl_vat": 40.00, "incl_vat": 48.40}
    assert describe(elements, "EUR", min_price=lowest, max_price=highest) == (
        "€0.96/kWh; €2.42 to €48.40 a charge (incl. 21% VAT)"
    )
    # Without incl_vat, the components' VAT is added, as a driver pays it.
    assert describe(elements, "EUR", min_price={"excl_vat": 2.00}) == (
        "€0.96/kWh; at least €2.42 a charge (incl. 21% VAT)"
    )
    assert describe([], "EUR", min_price={"excl_vat": 1.00}) == "€1.00 a charge"
