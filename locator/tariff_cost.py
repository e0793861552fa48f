"""What a finished charge costs by a tariff, from its metered periods: our own reckoning, to
check an operator's bill (a CDR) against.

The rules are OCPI 2.2.1's (mod_tariffs; tariffs are stored in that shape):

- Per dimension (ENERGY, TIME = time charging, PARKING_TIME = time plugged in, not charging)
  the first element whose restrictions all hold and which prices that dimension applies; FLAT
  is charged once, by the first element that holds when the charge starts. No match: free.
- Restrictions are read at the start of each period, with the energy and duration so far:
  `start_time`/`end_time` local wall clock (start inclusive, end exclusive, wrapping past
  midnight), `start_date` inclusive and `end_date` exclusive, `min_*` inclusive and `max_*`
  exclusive for kWh, duration, power and current, `day_of_week` local. Power is the highest
  the period's figures allow (`period_power`): its MAX_POWER, else its energy over its charging
  time, give or take the operator's rounding. A bound on something the periods do not tell
  (current) is not held against them. Elements for reservations never price a charge.
- step_size: a dimension's total is rounded up to a multiple of the step of the component
  that priced it last; of TIME and PARKING_TIME only the one used last is rounded.
- VAT per component; then `min_price`/`max_price` (excl. VAT) clamp the total.

Periods are what an operator reports (a CDR's charging periods), so the split into periods is
theirs: a restriction that starts to hold mid-period applies from the next period on.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# Volumes are counted in Wh and seconds, the units of step_size.
# A period's power may be this share above what its figures read (an operator's rounding).
POWER_SLACK = Decimal("0.002")
# OCPI volumes have 4 decimals: a period's kWh and hours are each off by up to half of that.
VOLUME_ROUNDING = Decimal("0.00005")
PER_UNIT = {"ENERGY": Decimal(1000), "TIME": Decimal(3600), "PARKING_TIME": Decimal(3600)}


class MeteredPeriod(Protocol):
    """One stretch of a charge (roaming's `ChargePeriod` is one)."""

    @property
    def start(self) -> datetime: ...
    @property
    def energy_kwh(self) -> Decimal: ...
    @property
    def charging_hours(self) -> Decimal: ...
    @property
    def parking_hours(self) -> Decimal: ...
    @property
    def max_power_kw(self) -> Decimal | None: ...


@dataclass
class Amount:
    """Money in major units, before and after VAT."""

    excl_vat: Decimal = Decimal(0)
    incl_vat: Decimal = Decimal(0)

    def add(self, amount: Decimal, vat: Decimal | None) -> None:
        self.excl_vat += amount
        self.incl_vat += amount * (1 + vat / 100) if vat else amount


@dataclass
class TariffCost:
    fixed: Amount = field(default_factory=Amount)
    energy: Amount = field(default_factory=Amount)
    time: Amount = field(default_factory=Amount)
    parking: Amount = field(default_factory=Amount)
    total: Amount = field(default_factory=Amount)


@dataclass
class Use:
    """Part of one dimension's volume, at one component's price."""

    volume: Decimal
    price: Decimal
    vat: Decimal | None
    step_size: int


def zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def restrictions_hold(
    restrictions: dict[str, Any] | None,
    *,
    local: datetime,
    kwh: float,
    duration_s: float,
    power_kw: float | None,
) -> bool:
    """Whether a tariff element's restrictions hold at one moment of a charge."""
    r = restrictions or {}
    if r.get("reservation"):
        return False
    clock = local.strftime("%H:%M")
    start, end = r.get("start_time"), r.get("end_time")
    if start and end:
        if not (start <= clock < end if start <= end else (clock >= start or clock < end)):
            return False
    elif (start and clock < start) or (end and clock >= end):
        return False
    today = local.date().isoformat()
    if (r.get("start_date") and today < r["start_date"]) or (
        r.get("end_date") and today >= r["end_date"]
    ):
        return False
    if r.get("day_of_week") and WEEKDAYS[local.weekday()] not in r["day_of_week"]:
        return False
    for low, high, value in (
        ("min_kwh", "max_kwh", kwh),
        ("min_duration", "max_duration", duration_s),
        ("min_power", "max_power", power_kw),
    ):
        if value is None:
            continue
        if r.get(low) is not None and value < float(r[low]) - 1e-9:
            return False
        if r.get(high) is not None and value >= float(r[high]) - 1e-9:
            return False
    return True


def component_for(
    elements: Sequence[dict[str, Any]], dimension: str, **moment: Any
) -> dict[str, Any] | None:
    for element in elements:
        for component in element.get("price_components") or []:
            if component.get("type") == dimension and restrictions_hold(
                element.get("restrictions"), **moment
            ):
                found: dict[str, Any] = component
                return found
    return None


def _use(component: dict[str, Any], volume: Decimal) -> Use:
    vat = component.get("vat")
    return Use(
        volume=volume,
        price=Decimal(str(component.get("price", 0))),
        vat=None if vat is None else Decimal(str(vat)),
        step_size=int(component.get("step_size") or 0),
    )


def _charge(uses: list[Use], *, per_unit: Decimal, round_up: bool, into: Amount) -> None:
    for use in uses:
        into.add(use.price * use.volume / per_unit, use.vat)
    last = uses[-1] if uses else None
    if round_up and last is not None and last.step_size > 0:
        measured = sum((use.volume for use in uses), Decimal(0))
        # Periods give hours and kWh to 4 decimals: a sum 0.1 s over a whole step is rounding,
        # not another step.
        whole = measured.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        billed = Decimal(math.ceil(whole / last.step_size)) * last.step_size
        into.add(last.price * (billed - measured) / per_unit, last.vat)


def _clamp(
    total: Amount, min_price: dict[str, Any] | None, max_price: dict[str, Any] | None
) -> None:
    for limit, below in ((min_price, True), (max_price, False)):
        if not limit:
            continue
        bound = Decimal(str(limit["excl_vat"]))
        if (total.excl_vat >= bound) if below else (total.excl_vat <= bound):
            continue
        ratio = total.incl_vat / total.excl_vat if total.excl_vat else Decimal(1)
        total.excl_vat = Decimal(str(limit["excl_vat"]))
        total.incl_vat = (
            Decimal(str(limit["incl_vat"]))
            if limit.get("incl_vat") is not None
            else total.excl_vat * ratio
        )


def period_power(period: MeteredPeriod) -> Decimal | None:
    """The highest power (kW) a period's figures allow, to hold against a tariff's power bounds;
    None when they cannot tell.

    Without MAX_POWER it is kWh over hours, both rounded to 4 decimals: over a few seconds that
    reads 149.67 kW for 150 (0.0056 h for 0.00556), so the bound is what the rounding allows.
    """
    if period.max_power_kw is not None:
        return period.max_power_kw / (1 - POWER_SLACK)
    energy, hours = period.energy_kwh, period.charging_hours
    if hours <= VOLUME_ROUNDING:
        return None  # too short to tell
    read = energy / hours / (1 - POWER_SLACK)
    return max(read, (energy + VOLUME_ROUNDING) / (hours - VOLUME_ROUNDING))


def periods_price(
    *,
    elements: Sequence[dict[str, Any]],
    periods: list[MeteredPeriod],
    time_zone: str,
    min_price: dict[str, Any] | None = None,
    max_price: dict[str, Any] | None = None,
) -> TariffCost:
    """The cost of a charge's `periods` by a tariff's `elements`; see the module docstring."""
    zone = zone_named(time_zone)
    cost = TariffCost()
    ordered = sorted(periods, key=lambda period: period.start)
    if not ordered:
        return cost
    uses: dict[str, list[Use]] = {"ENERGY": [], "TIME": [], "PARKING_TIME": []}
    last_time_dimension = ""
    begun = ordered[0].start
    kwh = Decimal(0)
    flat = component_for(
        elements, "FLAT", local=begun.astimezone(zone), kwh=0.0, duration_s=0.0, power_kw=None
    )
    for period in ordered:
        power = period_power(period)
        moment = {
            "local": period.start.astimezone(zone),
            "kwh": float(kwh),
            "duration_s": (period.start - begun).total_seconds(),
            "power_kw": None if power is None else float(power),
        }
        volumes = {
            "ENERGY": period.energy_kwh * 1000,
            "TIME": period.charging_hours * 3600,
            "PARKING_TIME": period.parking_hours * 3600,
        }
        for dimension, volume in volumes.items():
            component = component_for(elements, dimension, **moment) if volume > 0 else None
            if component is None:
                continue
            uses[dimension].append(_use(component, volume))
            if dimension != "ENERGY":
                last_time_dimension = dimension
        kwh += period.energy_kwh
    if flat is not None:
        once = _use(flat, Decimal(1))
        cost.fixed.add(once.price, once.vat)
    for dimension, amount in (
        ("ENERGY", cost.energy),
        ("TIME", cost.time),
        ("PARKING_TIME", cost.parking),
    ):
        _charge(
            uses[dimension],
            per_unit=PER_UNIT[dimension],
            round_up=dimension in ("ENERGY", last_time_dimension),
            into=amount,
        )
    for part in (cost.fixed, cost.energy, cost.time, cost.parking):
        cost.total.excl_vat += part.excl_vat
        cost.total.incl_vat += part.incl_vat
    _clamp(cost.total, min_price, max_price)
    return cost
