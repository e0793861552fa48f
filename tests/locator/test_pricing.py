"""Tariffs in plain words, from the OCPI 2.2.1 examples' shapes."""

from decimal import Decimal

from locator.pricing import describe, estimate


def test_energy_price_includes_vat() -> None:
    elements = [
        {"price_components": [{"type": "ENERGY", "price": 0.40, "vat": 25, "step_size": 1}]}
    ]
    assert describe(elements, "EUR") == "€0.50/kWh"


def test_time_is_shown_per_minute_after_its_threshold() -> None:
    elements = [
        {"price_components": [{"type": "ENERGY", "price": 0.49, "step_size": 1}]},
        {
            "price_components": [{"type": "TIME", "price": 6.00, "step_size": 60}],
            "restrictions": {"min_duration": 3600},
        },
    ]
    assert describe(elements, "EUR") == "€0.49/kWh + €0.10/min after 60 min"
    # 30 kWh in 45 min: the time fee has not started yet.
    assert estimate(elements) == Decimal("14.70")
    # 30 kWh in 90 min: 30 min of time fee.
    assert estimate(elements, minutes=90) == Decimal("17.70")


def test_flat_fee_and_parking() -> None:
    elements = [
        {
            "price_components": [
                {"type": "FLAT", "price": 1.00, "step_size": 1},
                {"type": "PARKING_TIME", "price": 3.00, "step_size": 60},
            ]
        }
    ]
    assert describe(elements, "USD") == "$1.00 per charge + $0.05/min parking"


def test_a_tariff_of_zeroes_is_free() -> None:
    assert (
        describe([{"price_components": [{"type": "FLAT", "price": 0, "step_size": 0}]}], "EUR")
        == "Free"
    )


def test_time_of_day_bands_are_flagged() -> None:
    elements = [
        {
            "price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}],
            "restrictions": {"start_time": "22:00", "end_time": "06:00"},
        }
    ]
    assert describe(elements, "GBP") == "£0.30/kWh at some times"


def test_min_and_max_price_are_in_the_plain_words() -> None:
    """The sandbox's DC-MIN-MAX: EUR 0.79/kWh + 21 % VAT, at least 2.00, at most 40.00."""
    elements = [{"price_components": [{"type": "ENERGY", "price": 0.79, "vat": 21.0}]}]
    lowest, highest = {"excl_vat": 2.00, "incl_vat": 2.42}, {"excl_vat": 40.00, "incl_vat": 48.40}
    assert describe(elements, "EUR", min_price=lowest, max_price=highest) == (
        "€0.96/kWh, at least €2.42 and at most €48.40 a charge"
    )
    # Without incl_vat, the components' VAT is added, as a driver pays it.
    assert describe(elements, "EUR", min_price={"excl_vat": 2.00}) == (
        "€0.96/kWh, at least €2.42 a charge"
    )
    assert describe([], "EUR", min_price={"excl_vat": 1.00}) == "€1.00 a charge"
