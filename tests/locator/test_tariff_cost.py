"""Our own reckoning of a charge from a tariff and its periods (the check on a CDR's cost),
against totals worked out by hand and against the sandbox CPO's pricing of the same charges."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from locator.tariff_cost import periods_price
from sandbox.pricing import MeterSegment, price_session
from sandbox.tariffs import TARIFF_TEMPLATES

THURSDAY = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    start: datetime
    energy_kwh: Decimal
    charging_hours: Decimal
    parking_hours: Decimal = Decimal(0)
    max_power_kw: Decimal | None = None


def component(kind: str, price: float, step: int = 1, vat: float | None = 21.0) -> dict:
    return {"type": kind, "price": price, "step_size": step, **({"vat": vat} if vat else {})}


def test_energy_is_billed_per_kwh_with_vat() -> None:
    cost = periods_price(
        elements=[{"price_components": [component("ENERGY", 0.39)]}],
        periods=[Period(THURSDAY, Decimal(11), Decimal(1))],
        time_zone="UTC",
    )
    assert (cost.total.excl_vat, cost.total.incl_vat) == (Decimal("4.29"), Decimal("5.1909"))
    assert cost.energy.incl_vat == cost.total.incl_vat


def test_time_rounds_up_to_the_step_of_the_last_component_as_the_spec_example() -> None:
    # The spec's cdr_example: 2.00/h + 10 % VAT, step 300 s, 7103 s billed as 7200 s.
    cost = periods_price(
        elements=[{"price_components": [component("TIME", 2.00, 300, 10.0)]}],
        periods=[Period(THURSDAY, Decimal("15.34"), Decimal(7103) / 3600)],
        time_zone="UTC",
    )
    assert (cost.total.excl_vat.quantize(CENT), cost.total.incl_vat.quantize(CENT)) == (
        Decimal("4.00"),
        Decimal("4.40"),
    )


def test_flat_fee_and_parking_after_a_grace_period_and_min_price() -> None:
    elements = [
        {"price_components": [component("FLAT", 1.00), component("ENERGY", 0.30)]},
        {
            "price_components": [component("PARKING_TIME", 6.00, 60)],
            "restrictions": {"min_duration": 7200},
        },
    ]
    periods = [
        Period(THURSDAY, Decimal(20), Decimal(2)),
        Period(THURSDAY + timedelta(hours=2), Decimal(0), Decimal(0), Decimal("0.5")),
    ]
    cost = periods_price(elements=elements, periods=periods, time_zone="UTC")
    # 1.00 flat + 20 x 0.30 + 0.5 h x 6.00 = 10.00 excl., 12.10 incl.
    assert (cost.fixed.excl_vat, cost.energy.excl_vat, cost.parking.excl_vat) == (
        Decimal("1.00"),
        Decimal("6.00"),
        Decimal("3.00"),
    )
    assert cost.total.incl_vat == Decimal("12.1")
    clamped = periods_price(
        elements=elements,
        periods=periods,
        time_zone="UTC",
        min_price={"excl_vat": 15.0, "incl_vat": 18.15},
    )
    assert (clamped.total.excl_vat, clamped.total.incl_vat) == (Decimal(15), Decimal("18.15"))


def test_no_element_matching_is_free() -> None:
    cost = periods_price(
        elements=[
            {"price_components": [component("ENERGY", 0.5)], "restrictions": {"min_kwh": 100}}
        ],
        periods=[Period(THURSDAY, Decimal(10), Decimal(1))],
        time_zone="UTC",
    )
    assert cost.total.incl_vat == 0


def charges() -> list[tuple[str, list[MeterSegment]]]:
    """Charges that cross every kind of threshold the sandbox's tariffs have."""

    def charge(start: datetime, *parts: tuple[float, float]) -> list[MeterSegment]:
        segments, at = [], start
        for minutes, kw in parts:
            segments.append(MeterSegment(at, at + timedelta(minutes=minutes), kw))
            at += timedelta(minutes=minutes)
        return segments

    return [
        ("short", charge(THURSDAY, (20, 11))),
        ("long with idle", charge(THURSDAY, (100, 11), (20, 3.7), (90, 0))),
        ("over midnight", charge(datetime(2026, 1, 15, 22, 30, tzinfo=UTC), (150, 7.4))),
        ("fast with taper", charge(THURSDAY, (25, 150), (10, 60), (5, 20))),
        ("weekend", charge(datetime(2026, 1, 17, 9, 0, tzinfo=UTC), (45, 50))),
        # 0.0103 h and 1.5417 kWh: 149.68 kW by the rounded figures, on the 150 kW bound.
        ("37 seconds at 150 kW", charge(THURSDAY, (37 / 60, 150))),
    ]


@pytest.mark.parametrize("tariff", TARIFF_TEMPLATES, ids=lambda t: t["id"])
def test_reckoning_from_a_cdrs_periods_matches_the_cpos_price(tariff: dict) -> None:
    for name, segments in charges():
        priced = price_session(tariff, segments, time_zone="Europe/Amsterdam")
        periods = [
            Period(
                start=period["start_date_time"],
                energy_kwh=Decimal(str(volumes.get("ENERGY", 0))),
                charging_hours=Decimal(str(volumes.get("TIME", 0))),
                parking_hours=Decimal(str(volumes.get("PARKING_TIME", 0))),
            )
            for period in priced.charging_periods
            for volumes in [{d["type"]: d["volume"] for d in period["dimensions"]}]
        ]
        ours = periods_price(
            elements=tariff["elements"],
            periods=periods,
            time_zone="Europe/Amsterdam",
            min_price=tariff.get("min_price"),
            max_price=tariff.get("max_price"),
        )
        theirs = priced.total.incl_vat
        assert abs(ours.total.incl_vat - theirs) < CENT, (name, ours.total, theirs)


def test_power_read_under_a_bound_by_rounding_counts_as_on_the_bound() -> None:
    """20 s at 150 kW, as an operator rounds it: 0.8333 kWh in 0.0056 h reads 148.8 kW."""
    elements = [
        {"price_components": [component("ENERGY", 0.55)], "restrictions": {"max_power": 150.0}},
        {"price_components": [component("ENERGY", 0.69)]},
    ]
    cost = periods_price(
        elements=elements,
        periods=[Period(THURSDAY, Decimal("0.8333"), Decimal("0.0056"))],
        time_zone="UTC",
    )
    assert cost.total.incl_vat.quantize(CENT) == Decimal("0.70")  # 0.8333 kWh at €0.69 + VAT
    slower = periods_price(
        elements=elements,
        periods=[Period(THURSDAY, Decimal("0.6111"), Decimal("0.0056"))],  # 110 kW
        time_zone="UTC",
    )
    assert slower.total.incl_vat.quantize(CENT) == Decimal("0.41")  # at €0.55 + VAT
