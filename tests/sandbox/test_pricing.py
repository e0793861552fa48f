"""CDR totals from tariffs, against totals worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sandbox.pricing import MeterSegment, price_session
from sandbox.tariffs import TARIFF_TEMPLATES

TARIFFS = {t["id"]: t for t in TARIFF_TEMPLATES}
THURSDAY = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def charge(start: datetime, *parts: tuple[float, float]) -> list[MeterSegment]:
    """Segments from (minutes, kW) pairs; 0 kW is parked, not charging."""
    segments, at = [], start
    for minutes, kw in parts:
        end = at + timedelta(minutes=minutes)
        segments.append(MeterSegment(at, end, kw))
        at = end
    return segments


def totals(
    tariff: dict, segments: list[MeterSegment], zone: str = "UTC"
) -> tuple[Decimal, Decimal]:
    priced = price_session(tariff, segments, time_zone=zone)
    price = priced.total.as_price()
    return Decimal(str(price["excl_vat"])), Decimal(str(price["incl_vat"]))


def test_energy_tariff_bills_kwh_with_vat() -> None:
    # 11 kW for an hour = 11 kWh x 0.39 = 4.29; +21 % VAT = 5.1909.
    assert totals(TARIFFS["AC-ENERGY"], charge(THURSDAY, (60, 11))) == (
        Decimal("4.29"),
        Decimal("5.1909"),
    )


def test_spec_cdr_example_rounds_time_up_to_the_step_size() -> None:
    # The spec's cdr_example.json: 2.00/h, 10 % VAT, step 300 s, 21:39:09-23:37:32 (7103 s)
    # is billed as 7200 s = 2 h: 4.00 excl. and 4.40 incl. VAT, as the example says.
    tariff = {
        "id": "12",
        "elements": [
            {"price_components": [{"type": "TIME", "price": 2.00, "vat": 10.0, "step_size": 300}]}
        ],
    }
    start = datetime(2015, 6, 29, 21, 39, 9, tzinfo=UTC)
    end = datetime(2015, 6, 29, 23, 37, 32, tzinfo=UTC)
    assert totals(tariff, [MeterSegment(start, end, 7.7)]) == (Decimal("4.0"), Decimal("4.4"))


def test_kwh_tiers_switch_at_the_threshold_and_round_energy_to_the_last_step() -> None:
    # 50 kW for 30 min + 10.8 s = 25.15 kWh. First 20 kWh x 0.65 = 13.00, then 5.15 x 0.49
    # = 2.5235; 25150 Wh rounds up to 25200 Wh (step 100 Wh), the 50 Wh extra at 0.49 = 0.0245.
    # Total 15.548; x 1.21 = 18.81308.
    start = THURSDAY
    segments = [MeterSegment(start, start + timedelta(minutes=30, seconds=10.8), 50)]
    priced = price_session(TARIFFS["DC-KWH-TIERS"], segments, time_zone="UTC")
    assert priced.total.as_price() == {"excl_vat": 15.548, "incl_vat": 18.8131}
    energy = [p["dimensions"][0]["volume"] for p in priced.charging_periods]
    assert energy == [20.0, 5.15]
    assert priced.charging_periods[1]["start_date_time"] == start + timedelta(minutes=24)


def test_only_the_last_time_dimension_is_rounded_and_parking_stops_at_the_uncovered_hour() -> None:
    # The spec's tariff_14 (step sizes): plug in at 19:40, charge 12 min, park 20 min.
    # TIME 19:40-19:52 at 2.40/h = 0.48 (not rounded: parking came after it). PARKING_TIME
    # 19:52-20:00 = 8 min at 1.00/h, rounded up to 15 min (step 900 s) = 0.25; after 20:00 the
    # tariff has no parking component, so the remaining 12 min are free. Total 0.73, no VAT.
    tariff_14 = {
        "id": "22",
        "elements": [
            {
                "price_components": [
                    {"type": "TIME", "price": 1.20, "step_size": 1800},
                    {"type": "PARKING_TIME", "price": 1.00, "step_size": 900},
                ],
                "restrictions": {"start_time": "00:00", "end_time": "17:00"},
            },
            {
                "price_components": [
                    {"type": "TIME", "price": 2.40, "step_size": 900},
                    {"type": "PARKING_TIME", "price": 1.00, "step_size": 900},
                ],
                "restrictions": {"start_time": "17:00", "end_time": "20:00"},
            },
            {
                "price_components": [{"type": "TIME", "price": 2.40, "step_size": 900}],
                "restrictions": {"start_time": "20:00", "end_time": "00:00"},
            },
        ],
    }
    start = datetime(2026, 1, 15, 19, 40, tzinfo=UTC)
    priced = price_session(tariff_14, charge(start, (12, 11), (20, 0)), time_zone="UTC")
    assert priced.time.as_price()["excl_vat"] == 0.48
    assert priced.parking.as_price()["excl_vat"] == 0.25
    assert priced.total.as_price() == {"excl_vat": 0.73, "incl_vat": 0.73}
    assert priced.total_parking_time_h == Decimal(20) / 60


def test_idle_fee_starts_after_the_grace_period() -> None:
    # 11 kW for 90 min = 16.5 kWh x 0.35 = 5.775; parked 60 min more, but the 6.00/h idle fee
    # only applies from minute 120: 30 min = 3.00. Total 8.775; x 1.21 = 10.61775 -> 10.6178.
    priced = price_session(TARIFFS["AC-IDLE"], charge(THURSDAY, (90, 11), (60, 0)), time_zone="UTC")
    assert priced.total.as_price() == {"excl_vat": 8.775, "incl_vat": 10.6178}
    assert priced.total_time_h == Decimal("2.5")
    assert priced.total_parking_time_h == Decimal(1)


def test_time_of_day_uses_the_locations_local_clock() -> None:
    # 22:30-23:30 in Amsterdam (21:30-22:30 UTC in winter) at 10 kW: 5 kWh x 0.45 before 23:00,
    # 5 kWh x 0.29 after = 3.70.
    start = datetime(2026, 1, 15, 21, 30, tzinfo=UTC)
    priced = price_session(
        TARIFFS["AC-DAYTIME"], charge(start, (60, 10)), time_zone="Europe/Amsterdam"
    )
    assert priced.total.as_price()["excl_vat"] == 3.7
    assert len(priced.charging_periods) == 2


def test_weekend_price_applies_on_saturday() -> None:
    saturday = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
    assert totals(TARIFFS["AC-WEEKEND"], charge(saturday, (120, 7)))[0] == Decimal("4.2")
    assert totals(TARIFFS["AC-WEEKEND"], charge(THURSDAY, (120, 7)))[0] == Decimal("5.6")


def test_flat_fee_is_charged_once_with_its_own_vat() -> None:
    # 1.00 + 30 kWh x 0.59 = 18.70; x 1.21 = 22.627.
    priced = price_session(TARIFFS["DC-FLAT-ENERGY"], charge(THURSDAY, (30, 60)), time_zone="UTC")
    assert priced.fixed.as_price() == {"excl_vat": 1.0, "incl_vat": 1.21}
    assert priced.total.as_price() == {"excl_vat": 18.7, "incl_vat": 22.627}


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(1, (Decimal("2.0"), Decimal("2.42"))), (100, (Decimal("40.0"), Decimal("48.4")))],
)
def test_min_and_max_price_clamp_the_total(minutes: int, expected: tuple[Decimal, Decimal]) -> None:
    # 60 kW: 1 min = 1 kWh x 0.79 = 0.79 -> the 2.00 minimum; 100 min = 100 kWh = 79.00 -> 40.00.
    assert totals(TARIFFS["DC-MIN-MAX"], charge(THURSDAY, (minutes, 60))) == expected


def test_power_restriction_prices_each_stretch_by_its_power() -> None:
    # 200 kW for 6 min = 20 kWh x 0.69 = 13.80; 100 kW for 6 min = 10 kWh x 0.55 = 5.50.
    assert totals(TARIFFS["DC-POWER"], charge(THURSDAY, (6, 200), (6, 100)))[0] == Decimal("19.3")


def test_duration_tiers_and_time_step_size() -> None:
    # 3 kW for 4 h 1 min 40 s (14500 s). Energy 12083.33 Wh rounds up to 12084 Wh x 0.25 =
    # 3.021. Time: 3 h x 1.00 + 3700 s at 3.00/h; 14500 s rounds up to 14700 s (step 300),
    # the 200 s extra at 3.00/h: 3.00 + 3900/3600 x 3.00 = 6.25. Total 9.271; x 1.21 = 11.21791.
    start = THURSDAY
    segments = [MeterSegment(start, start + timedelta(seconds=14500), 3)]
    priced = price_session(TARIFFS["AC-LONG-STAY"], segments, time_zone="UTC")
    assert priced.energy.as_price()["excl_vat"] == 3.021
    assert priced.time.as_price()["excl_vat"] == 6.25
    assert priced.total.as_price() == {"excl_vat": 9.271, "incl_vat": 11.2179}


def test_free_tariff_costs_nothing() -> None:
    assert totals(TARIFFS["AC-FREE"], charge(THURSDAY, (60, 22))) == (Decimal(0), Decimal(0))


def test_reservation_only_elements_never_price_a_charge() -> None:
    tariff = {
        "id": "R",
        "elements": [
            {
                "price_components": [{"type": "TIME", "price": 5.0, "step_size": 1}],
                "restrictions": {"reservation": "RESERVATION"},
            },
            {"price_components": [{"type": "ENERGY", "price": 0.5, "step_size": 1}]},
        ],
    }
    assert totals(tariff, charge(THURSDAY, (60, 10)))[0] == Decimal("5.0")
