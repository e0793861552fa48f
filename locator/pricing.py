"""OCPI tariffs in plain words, and what a charge would cost by one.

Prices in OCPI 2.2.1 are excl. VAT with an optional VAT percentage per component (omitted: no
VAT applies); we show what a driver pays, so VAT is added and the sentence says so. Per
dimension (start fee, energy, charging time, parking time) the first element whose
restrictions hold applies, so a dimension reads as a list of prices with their conditions in
order, the last unconditional one as "then"/"otherwise". Elements that price a reservation
are left out: drivers cannot reserve through us. Time is priced per hour in OCPI; we say it
per minute when a whole-cent per-minute price is within 1% of the truth, else per hour.

The estimate runs the production calculator (`locator.tariff_cost`) over a charge metered
minute by minute, so what the station page promises is what our CDR check would compute.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.utils import timezone

from locator import tariff_cost
from locator.models import Evse, Tariff

CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF ", "SEK": "SEK ", "NOK": "NOK "}
# The hold placed before a charge is for this much energy (roaming.services.session_states).
TYPICAL_KWH = 30
# The charge a station page prices by default: a mid-size car's battery from 20% to 80%.
DEFAULT_CHARGE_KWH = 40
MAX_CHARGE_KWH = 200
DIMENSIONS = ("FLAT", "ENERGY", "TIME", "PARKING_TIME")
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CENT = Decimal("0.01")


class PricedTariff(Protocol):
    """What the words need of a stored tariff (locator.models.Tariff is one)."""

    @property
    def elements(self) -> list[dict[str, Any]]: ...
    @property
    def currency(self) -> str: ...
    @property
    def min_price(self) -> dict[str, Any] | None: ...
    @property
    def max_price(self) -> dict[str, Any] | None: ...


def money(amount: Decimal, currency: str) -> str:
    sign = CURRENCY_SIGNS.get(currency.upper(), f"{currency.upper()} ")
    return f"{sign}{amount.quantize(CENT, rounding=ROUND_HALF_UP)}"


def duration_words(seconds: float) -> str:
    """'45 min', '3 h', '1 h 30 min'."""
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _bounds(low: str, high: str, *, first: str) -> str:
    """One range restriction in words: 'for the first 3 h', 'after 20 kWh', 'from 1 h to 2 h'."""
    if low and high:
        return f"from {low} to {high}"
    if high:
        return f"{first} {high}"
    return f"after {low}" if low else ""


def _days(days: list[str]) -> str:
    chosen = [d for d in WEEKDAYS if d in days]
    if chosen == list(WEEKDAYS[:5]):
        return "on weekdays"
    if chosen == list(WEEKDAYS[5:]):
        return "at weekends"
    if len(chosen) == 1:
        return f"on {chosen[0].capitalize()}s"
    return "on " + ", ".join(DAY_NAMES[WEEKDAYS.index(d)] for d in chosen)


def condition_words(r: dict[str, Any], *, following_tier: bool = False) -> str:
    """A tariff element's restrictions as people say them; "" when there are none."""
    first = "up to" if following_tier else "for the first"

    def kwh(key: str) -> str:
        return f"{float(r[key]):g} kWh" if r.get(key) else ""

    def duration(key: str) -> str:
        return duration_words(float(r[key])) if r.get(key) else ""

    parts = [
        _bounds(kwh("min_kwh"), kwh("max_kwh"), first=first),
        _bounds(duration("min_duration"), duration("max_duration"), first=first),
    ]
    for low, high, unit in (("min_power", "max_power", "kW"), ("min_current", "max_current", "A")):
        lo, hi = r.get(low), r.get(high)
        if lo and hi:
            parts.append(f"from {float(lo):g} to {float(hi):g} {unit}")
        elif hi:
            parts.append(f"below {float(hi):g} {unit}")
        elif lo:
            parts.append(f"at {float(lo):g} {unit} or more")
    if r.get("day_of_week"):
        parts.append(_days(list(r["day_of_week"])))
    start, end = r.get("start_time"), r.get("end_time")
    if start and end:
        parts.append(f"from {start} to {end}")
    elif start or end:
        parts.append(f"from {start}" if start else f"until {end}")
    if r.get("start_date"):
        parts.append(f"from {r['start_date']}")
    if r.get("end_date"):
        parts.append(f"before {r['end_date']}")
    return " ".join(part for part in parts if part)


@dataclass(slots=True)
class Entry:
    """One price of one dimension, incl. VAT (time per hour), and when it applies."""

    price: Decimal
    vat: Decimal | None
    restrictions: dict[str, Any]


def _entries(elements: Iterable[dict[str, Any]]) -> dict[str, list[Entry]]:
    """Per dimension, the prices in the order they are tried; none after an unconditional one
    (it always matches first) and none for reservations."""
    found: dict[str, list[Entry]] = {dimension: [] for dimension in DIMENSIONS}
    for element in elements:
        restrictions = {
            k: v for k, v in (element.get("restrictions") or {}).items() if v not in (None, [])
        }
        if restrictions.get("reservation"):
            continue
        for component in element.get("price_components") or []:
            entries = found.get(str(component.get("type")))
            if entries is None or (entries and not entries[-1].restrictions):
                continue
            vat = component.get("vat")
            vat_rate = None if vat is None else Decimal(str(vat))
            price = Decimal(str(component.get("price", 0)))
            if vat_rate:
                price *= 1 + vat_rate / 100
            entries.append(Entry(price, vat_rate, restrictions))
    return {dimension: _collapse(entries) for dimension, entries in found.items()}


def _same(a: Decimal, b: Decimal) -> bool:
    return a.quantize(Decimal("0.0001")) == b.quantize(Decimal("0.0001"))


def _collapse(entries: list[Entry]) -> list[Entry]:
    """Drop what changes nothing: a price just before the unconditional one that equals it, and
    adjacent clock windows at the same price (17:00-20:00 and 20:00-00:00) merged into one."""
    merged: list[Entry] = []
    for entry in entries:
        prev = merged[-1] if merged else None
        clock = {"start_time", "end_time"}
        if (
            prev is not None
            and _same(prev.price, entry.price)
            and set(prev.restrictions) == clock == set(entry.restrictions)
            and prev.restrictions["end_time"] == entry.restrictions["start_time"]
        ):
            prev.restrictions = {**prev.restrictions, "end_time": entry.restrictions["end_time"]}
            continue
        merged.append(entry)
    while (
        len(merged) > 1
        and not merged[-1].restrictions
        and _same(merged[-2].price, merged[-1].price)
    ):
        del merged[-2]
    return merged


def _per_minute(entries: list[Entry]) -> bool:
    for entry in entries:
        exact = entry.price / 60
        shown = exact.quantize(CENT, rounding=ROUND_HALF_UP)
        if exact and (not shown or abs(shown - exact) / exact > Decimal("0.01")):
            return False
    return True


def _price_label(dimension: str, price: Decimal, currency: str, per_minute: bool) -> str:
    if dimension == "FLAT":
        return f"{money(price, currency)} start fee"
    if dimension == "ENERGY":
        return f"{money(price, currency)}/kWh"
    unit = f"{money(price / 60, currency)}/min" if per_minute else f"{money(price, currency)}/h"
    return unit + (" parking" if dimension == "PARKING_TIME" else "")


def _tiered(r: dict[str, Any]) -> bool:
    """Whether a restriction is only an upper bound on the charge so far (a first tier)."""
    return bool(r) and set(r) <= {"max_duration", "max_kwh"}


def _dimension_words(dimension: str, entries: list[Entry], currency: str) -> tuple[str, bool]:
    """(words, whether they are one plain price) for one dimension; "" when it is free."""
    per_minute = _per_minute(entries)

    def label(entry: Entry) -> str:
        if not entry.price:
            return "free" if dimension != "FLAT" else "no start fee"
        return _price_label(dimension, entry.price, currency, per_minute)

    if len(entries) == 1 and not entries[0].restrictions:
        return ("", True) if not entries[0].price else (label(entries[0]), True)
    if len(entries) == 1 and set(entries[0].restrictions) <= {"min_duration", "min_kwh"}:
        return f"{condition_words(entries[0].restrictions)} also {label(entries[0])}", False
    parts: list[str] = []
    for index, entry in enumerate(entries):
        if not entry.restrictions:
            tiers = all(_tiered(e.restrictions) for e in entries[:index])
            parts.append(f"{'then' if tiers else 'otherwise'} {label(entry)}")
            continue
        following = index > 0 and _tiered(entries[index - 1].restrictions)
        words = condition_words(entry.restrictions, following_tier=following)
        parts.append(f"{label(entry)} {words}")
    return ", ".join(parts), False


def _vat_words(entries: Iterable[Entry]) -> str:
    priced = [entry for entry in entries if entry.price]
    rates = {entry.vat for entry in priced if entry.vat is not None}
    if not priced:
        return ""
    if not rates:
        return "no VAT"
    if len(rates) < len({entry.vat for entry in priced}):
        return "incl. VAT where due"
    return f"incl. {next(iter(rates)).normalize():f}% VAT" if len(rates) == 1 else "incl. VAT"


def _limit(limit: dict[str, Any] | None, elements: list[dict[str, Any]]) -> Decimal | None:
    """A min_price/max_price as the driver pays it: incl. VAT when the tariff gives it, else
    excl. VAT plus the VAT its components share (if they share one)."""
    if not limit or limit.get("excl_vat") is None:
        return None
    if limit.get("incl_vat") is not None:
        return Decimal(str(limit["incl_vat"]))
    rates = {
        component.get("vat")
        for element in elements
        for component in element.get("price_components") or []
    }
    rate = Decimal(str(rates.pop() or 0)) if len(rates) == 1 else Decimal(0)
    return Decimal(str(limit["excl_vat"])) * (1 + rate / 100)


def describe(
    elements: list[dict[str, Any]],
    currency: str,
    *,
    min_price: dict[str, Any] | None = None,
    max_price: dict[str, Any] | None = None,
) -> str:
    """'€0.30/kWh; after 3 h also €0.06/min (incl. 21% VAT)', or 'Free'."""
    entries = _entries(elements)
    plain: list[str] = []
    conditional: list[str] = []
    for dimension in DIMENSIONS:
        if not entries[dimension]:
            continue
        words, is_plain = _dimension_words(dimension, entries[dimension], currency)
        if words:
            (plain if is_plain else conditional).append(words)
    low, high = _limit(min_price, elements), _limit(max_price, elements)
    if not plain and not conditional:
        # Nothing priced by volume: the minimum, if any, is what every charge costs.
        return f"{money(low, currency)} a charge" if low else "Free"
    body = "; ".join([" + ".join(plain)] if plain else [])
    for words in conditional:
        if words.startswith("after ") and not body:
            words = words.replace(" also ", " ", 1)
        body = f"{body}; {words}" if body else words
    if low is not None and high is not None:
        body += f"; {money(low, currency)} to {money(high, currency)} a charge"
    elif low is not None:
        body += f"; at least {money(low, currency)} a charge"
    elif high is not None:
        body += f"; at most {money(high, currency)} a charge"
    vat = _vat_words(entry for dimension in DIMENSIONS for entry in entries[dimension])
    sentence = f"{body} ({vat})" if vat else body
    return sentence[:1].upper() + sentence[1:]


def tariff_describe(tariff: PricedTariff) -> str:
    return describe(
        tariff.elements, tariff.currency, min_price=tariff.min_price, max_price=tariff.max_price
    )


def headline(tariffs: Sequence[Tariff]) -> str:
    """A station's price in one line: its one tariff's words, or, where charge points differ,
    'From €0.30/kWh' (the lowest energy price any of them asks) when every one prices energy."""
    distinct = list(dict.fromkeys(t.summary for t in tariffs if t.summary))
    if len(distinct) <= 1:
        return distinct[0] if distinct else ""
    lowest: list[tuple[Decimal, str]] = []
    for tariff in tariffs:
        energy = _entries(tariff.elements)["ENERGY"]
        if not energy:
            return "Prices differ by charge point"
        lowest.append((min(entry.price for entry in energy), tariff.currency))
    if len({currency for _, currency in lowest}) > 1:
        return "Prices differ by charge point"
    price, currency = min(lowest)
    return f"From {money(price, currency)}/kWh"


@dataclass(frozen=True, slots=True)
class ChargeEstimate:
    """What a charge of one size costs at the charge points sharing a tariff and a power."""

    charge_points: list[str]
    power_kw: float
    summary: str
    amount: str
    duration: str


def charge_estimates(
    *, evses: Iterable[Evse], tariffs: Mapping[str, Tariff], kwh: float, time_zone: str
) -> list[ChargeEstimate]:
    """Per (tariff, power) of a station's connectors, what charging `kwh` there costs now."""
    groups: dict[tuple[str, float], list[str]] = {}
    for evse in evses:
        for connector in evse.connectors.all():
            tariff_id = next((t for t in connector.tariff_ids or [] if t in tariffs), None)
            if tariff_id is None or connector.power_kw <= 0:
                continue
            labels = groups.setdefault((tariff_id, connector.power_kw), [])
            label = evse.evse_id or evse.uid
            if label not in labels:
                labels.append(label)
    start = timezone.now()
    found = []
    for (tariff_id, power_kw), labels in groups.items():
        tariff = tariffs[tariff_id]
        amount = estimate(tariff, kwh=kwh, power_kw=power_kw, time_zone=time_zone, start=start)
        found.append(
            ChargeEstimate(
                charge_points=labels,
                power_kw=power_kw,
                summary=tariff.summary,
                amount=money(amount, tariff.currency),
                duration=duration_words(charge_minutes(kwh=kwh, power_kw=power_kw) * 60),
            )
        )
    return sorted(found, key=lambda e: (-e.power_kw, e.charge_points))


@dataclass(frozen=True, slots=True)
class _Minute:
    start: datetime
    energy_kwh: Decimal
    charging_hours: Decimal
    parking_hours: Decimal
    max_power_kw: Decimal | None


def estimate(
    tariff: PricedTariff,
    *,
    kwh: float,
    power_kw: float,
    time_zone: str = "",
    start: datetime | None = None,
) -> Decimal:
    """What charging `kwh` at a steady `power_kw`, starting at `start` (now) and leaving when
    done, costs incl. VAT, by the production calculator; min/max price applied."""
    power = max(power_kw, 0.1)
    minutes = charge_minutes(kwh=kwh, power_kw=power)
    per_minute = Decimal(str(kwh)) / minutes
    begun = start or timezone.now()
    periods: list[tariff_cost.MeteredPeriod] = [
        _Minute(
            begun + timedelta(minutes=m),
            per_minute,
            Decimal(1) / 60,
            Decimal(0),
            Decimal(str(power)),
        )
        for m in range(minutes)
    ]
    cost = tariff_cost.periods_price(
        elements=tariff.elements,
        periods=periods,
        time_zone=time_zone,
        min_price=tariff.min_price,
        max_price=tariff.max_price,
    )
    return cost.total.incl_vat.quantize(CENT, rounding=ROUND_HALF_UP)


def charge_minutes(*, kwh: float, power_kw: float) -> int:
    return max(1, round(kwh / max(power_kw, 0.1) * 60))
