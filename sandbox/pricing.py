"""Price a charging session with an OCPI 2.2.1 tariff, as a CPO does for its CDR.

The session is given as meter segments of constant power (`power_kw == 0` is parking: plugged
in, not charging). The rules, from the spec's mod_tariffs chapter:

- Tariff elements are tried in order; for each dimension (ENERGY, TIME, PARKING_TIME, FLAT) the
  first element whose restrictions all hold and which has a component of that dimension prices
  it. TIME is time charging, PARKING_TIME time not charging; FLAT is charged once.
- Restrictions: `start_time`/`end_time` local wall clock, start inclusive, end exclusive, and
  wrapping past midnight when end < start; `start_date` inclusive, `end_date` exclusive;
  `min_*` inclusive, `max_*` exclusive for kWh so far, session duration so far, power and
  current; `day_of_week` in local time. Elements restricted to reservations never apply to a
  charging session.
- step_size: the total volume of a dimension is rounded up to a multiple of the step_size of the
  last component that priced it (Wh for ENERGY, seconds for time). Of TIME and PARKING_TIME, only
  the one used last in the session is rounded; the surplus is billed at that last component's
  price (the spec's worked examples).
- VAT per component (absent = no VAT); then `min_price`/`max_price` clamp the total.

Within a segment, the moments where a restriction can change (a kWh or duration threshold, a
clock boundary, midnight) are computed exactly, so the split into charging periods is exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

FOUR_PLACES = Decimal("0.0001")
_TIME_DIMENSIONS = ("TIME", "PARKING_TIME")
_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass(frozen=True)
class MeterSegment:
    """A stretch of a session at constant power; `power_kw == 0` means parked, not charging."""

    start: datetime
    end: datetime
    power_kw: float
    current_a: float = 0.0


@dataclass
class Money:
    excl_vat: Decimal = Decimal(0)
    incl_vat: Decimal = Decimal(0)

    def add(self, amount: Decimal, vat: Decimal | None) -> None:
        self.excl_vat += amount
        self.incl_vat += amount * (1 + vat / 100) if vat is not None else amount

    def as_price(self) -> dict[str, float]:
        return {
            "excl_vat": float(self.excl_vat.quantize(FOUR_PLACES, ROUND_HALF_UP)),
            "incl_vat": float(self.incl_vat.quantize(FOUR_PLACES, ROUND_HALF_UP)),
        }


@dataclass
class PricedSession:
    """What a CDR needs: charging periods, volumes and costs."""

    charging_periods: list[dict[str, Any]]
    total_energy_kwh: Decimal
    total_time_h: Decimal
    total_parking_time_h: Decimal
    fixed: Money = field(default_factory=Money)
    energy: Money = field(default_factory=Money)
    time: Money = field(default_factory=Money)
    parking: Money = field(default_factory=Money)
    total: Money = field(default_factory=Money)


@dataclass
class _Piece:
    volume: Decimal  # Wh for ENERGY, seconds for TIME / PARKING_TIME
    price: Decimal
    vat: Decimal | None
    step_size: int


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _restrictions_hold(
    restrictions: dict[str, Any] | None,
    *,
    local: datetime,
    kwh: float,
    duration_s: float,
    power_kw: float,
    current_a: float,
) -> bool:
    if not restrictions:
        return True
    r = restrictions
    if r.get("reservation"):
        return False
    clock = local.strftime("%H:%M")
    start, end = r.get("start_time"), r.get("end_time")
    if start and end:
        inside = start <= clock < end if start <= end else (clock >= start or clock < end)
        if not inside:
            return False
    elif (start and clock < start) or (end and clock >= end):
        return False
    today = local.date().isoformat()
    if r.get("start_date") and today < r["start_date"]:
        return False
    if r.get("end_date") and today >= r["end_date"]:
        return False
    if r.get("day_of_week") and _WEEKDAYS[local.weekday()] not in r["day_of_week"]:
        return False
    bounds = (
        ("min_kwh", "max_kwh", kwh),
        ("min_duration", "max_duration", duration_s),
        ("min_power", "max_power", power_kw),
        ("min_current", "max_current", current_a),
    )
    for low, high, value in bounds:
        if r.get(low) is not None and value < float(r[low]) - 1e-9:
            return False
        if r.get(high) is not None and value >= float(r[high]) - 1e-9:
            return False
    return True


def _breakpoints(
    segment: MeterSegment,
    *,
    elements: list[dict[str, Any]],
    session_start: datetime,
    kwh_at_start: float,
    zone: ZoneInfo,
) -> list[datetime]:
    """Moments inside the segment where some restriction may start or stop holding."""
    moments: set[datetime] = set()
    clock_marks = {time(0, 0)}
    for element in elements:
        r = element.get("restrictions") or {}
        for key in ("min_kwh", "max_kwh"):
            if r.get(key) is not None and segment.power_kw > 0:
                hours = (float(r[key]) - kwh_at_start) / segment.power_kw
                moments.add(segment.start + timedelta(hours=hours))
        for key in ("min_duration", "max_duration"):
            if r.get(key) is not None:
                moments.add(session_start + timedelta(seconds=int(r[key])))
        for key in ("start_time", "end_time"):
            if r.get(key):
                hours, minutes = (int(part) for part in r[key].split(":"))
                clock_marks.add(time(hours, minutes))
    first_day: date = segment.start.astimezone(zone).date()
    last_day: date = segment.end.astimezone(zone).date()
    day = first_day
    while day <= last_day:
        for mark in clock_marks:
            moments.add(datetime.combine(day, mark, tzinfo=zone).astimezone(segment.start.tzinfo))
        day += timedelta(days=1)
    return sorted(m for m in moments if segment.start < m < segment.end)


def _first_element(
    elements: list[dict[str, Any]], dimension: str, **state: Any
) -> tuple[int, dict[str, Any]] | None:
    for index, element in enumerate(elements):
        for component in element["price_components"]:
            if component["type"] == dimension and _restrictions_hold(
                element.get("restrictions"), **state
            ):
                return index, component
    return None


def _piece(component: dict[str, Any], volume: Decimal) -> _Piece:
    vat = component.get("vat")
    return _Piece(
        volume=volume,
        price=_dec(component["price"]),
        vat=None if vat is None else _dec(vat),
        step_size=int(component.get("step_size") or 0),
    )


def _bill(pieces: list[_Piece], *, per_unit: Decimal, quantise: bool, into: Money) -> Decimal:
    """Add the cost of one dimension to `into`; return the billed volume (in Wh or s)."""
    if not pieces:
        return Decimal(0)
    measured = sum((p.volume for p in pieces), Decimal(0))
    for piece in pieces:
        into.add(piece.price * piece.volume / per_unit, piece.vat)
    last = pieces[-1]
    if quantise and last.step_size > 0:
        billed = Decimal(math.ceil(measured / last.step_size)) * last.step_size
        into.add(last.price * (billed - measured) / per_unit, last.vat)
        return billed
    return measured


def price_session(
    tariff: dict[str, Any], segments: list[MeterSegment], *, time_zone: str
) -> PricedSession:
    """Price `segments` (in order, contiguous) with `tariff`; see the module docstring."""
    zone = ZoneInfo(time_zone)
    elements: list[dict[str, Any]] = tariff["elements"]
    periods: list[dict[str, Any]] = []
    pieces: dict[str, list[_Piece]] = {"ENERGY": [], "TIME": [], "PARKING_TIME": []}
    last_time_dimension: str | None = None
    flat: dict[str, Any] | None = None
    flat_found = False
    session_start = segments[0].start if segments else None
    kwh = 0.0
    parking_s = Decimal(0)
    current_key: tuple[Any, ...] | None = None

    for segment in segments:
        assert session_start is not None
        cuts = [
            segment.start,
            *_breakpoints(
                segment,
                elements=elements,
                session_start=session_start,
                kwh_at_start=kwh,
                zone=zone,
            ),
            segment.end,
        ]
        for begin, finish in itertools.pairwise(cuts):
            seconds = Decimal(str(round((finish - begin).total_seconds(), 6)))
            energy_kwh = segment.power_kw * float(seconds) / 3600
            state = {
                "local": begin.astimezone(zone),
                "kwh": kwh,
                "duration_s": (begin - session_start).total_seconds(),
                "power_kw": segment.power_kw,
                "current_a": segment.current_a,
            }
            charging = segment.power_kw > 0
            if not flat_found:
                found = _first_element(elements, "FLAT", **state)
                if found:
                    flat, flat_found = found[1], True
            chosen: dict[str, tuple[int, dict[str, Any]] | None] = {}
            if charging:
                chosen["ENERGY"] = _first_element(elements, "ENERGY", **state)
                chosen["TIME"] = _first_element(elements, "TIME", **state)
            else:
                chosen["PARKING_TIME"] = _first_element(elements, "PARKING_TIME", **state)
                parking_s += seconds
            for dimension, found in chosen.items():
                if found is None:
                    continue
                volume = (
                    Decimal(str(round(energy_kwh * 1000, 6))) if dimension == "ENERGY" else seconds
                )
                pieces[dimension].append(_piece(found[1], volume))
                if dimension in _TIME_DIMENSIONS:
                    last_time_dimension = dimension
            key = (charging, tuple((d, f[0] if f else None) for d, f in chosen.items()))
            if key != current_key:
                current_key = key
                periods.append(
                    {
                        "start_date_time": begin,
                        "energy": 0.0,
                        "seconds": Decimal(0),
                        "charging": charging,
                    }
                )
            periods[-1]["energy"] += energy_kwh
            periods[-1]["seconds"] += seconds
            kwh += energy_kwh

    priced = PricedSession(
        charging_periods=[_period_payload(p, tariff["id"]) for p in periods],
        total_energy_kwh=Decimal(str(round(kwh, 6))),
        total_time_h=(
            Decimal(str((segments[-1].end - segments[0].start).total_seconds())) / 3600
            if segments
            else Decimal(0)
        ),
        total_parking_time_h=parking_s / 3600,
    )
    if flat is not None:
        priced.fixed.add(
            _dec(flat["price"]), None if flat.get("vat") is None else _dec(flat["vat"])
        )
    _bill(pieces["ENERGY"], per_unit=Decimal(1000), quantise=True, into=priced.energy)
    for dimension, money in (("TIME", priced.time), ("PARKING_TIME", priced.parking)):
        _bill(
            pieces[dimension],
            per_unit=Decimal(3600),
            quantise=dimension == last_time_dimension,
            into=money,
        )
    for part in (priced.fixed, priced.energy, priced.time, priced.parking):
        priced.total.excl_vat += part.excl_vat
        priced.total.incl_vat += part.incl_vat
    _clamp(priced.total, tariff)
    return priced


def _clamp(total: Money, tariff: dict[str, Any]) -> None:
    """Apply the tariff's min_price / max_price (compared excluding VAT)."""
    checks: tuple[tuple[str, Callable[[Decimal], bool]], ...] = (
        ("min_price", lambda limit: total.excl_vat < limit),
        ("max_price", lambda limit: total.excl_vat > limit),
    )
    for key, too_far in checks:
        limit = tariff.get(key)
        if limit and too_far(_dec(limit["excl_vat"])):
            ratio = total.incl_vat / total.excl_vat if total.excl_vat else Decimal(1)
            total.excl_vat = _dec(limit["excl_vat"])
            total.incl_vat = (
                _dec(limit["incl_vat"])
                if limit.get("incl_vat") is not None
                else total.excl_vat * ratio
            )


def _period_payload(period: dict[str, Any], tariff_id: str) -> dict[str, Any]:
    hours = round(float(period["seconds"]) / 3600, 4)
    if period["charging"]:
        dimensions = [
            {"type": "ENERGY", "volume": round(period["energy"], 4)},
            {"type": "TIME", "volume": hours},
        ]
    else:
        dimensions = [{"type": "PARKING_TIME", "volume": hours}]
    return {
        "start_date_time": period["start_date_time"],
        "dimensions": dimensions,
        "tariff_id": tariff_id,
    }
