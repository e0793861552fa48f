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
from typing import Any, NamedTuple, Protocol

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from locator import tariff_cost
from locator.hours import WEEKDAYS as DAY_NAMES
from locator.models import Evse, Tariff
from payments.money import format_amount

# The language of the summary stored with each tariff (the admin's, and English lists').
SUMMARY_LANGUAGE = "en"
# The hold placed before a charge is for this much energy (roaming.services.session_states).
TYPICAL_KWH = 30
# The charge a station page prices by default: a mid-size car's battery from 20% to 80%.
DEFAULT_CHARGE_KWH = 40
MAX_CHARGE_KWH = 200
DIMENSIONS = ("FLAT", "ENERGY", "TIME", "PARKING_TIME")
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
CENT = Decimal("0.01")
MILLIONTH = Decimal("0.000001")  # as Tariff.lowest_energy_price keeps it


class PricedTariff(Protocol):
    """What the words need of a stored tariff (locator.models.Tariff is one)."""

    @property
    def elements(self) -> Sequence[dict[str, Any]]: ...
    @property
    def currency(self) -> str: ...
    @property
    def min_price(self) -> dict[str, Any] | None: ...
    @property
    def max_price(self) -> dict[str, Any] | None: ...


def money(amount: Decimal, currency: str) -> str:
    """A price to the cent, as the active language writes it ("€0.30", "0,30 €")."""
    return format_amount(amount, currency, places=2)


def number(value: Any) -> str:
    """A limit as given, without trailing zeros, with the active language's decimal mark."""
    return formats.number_format(f"{float(value):g}", use_l10n=True)


def duration_words(seconds: float) -> str:
    """'45 min', '3 h', '1 h 30 min'."""
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)s min") % {"minutes": rest}
    if rest:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    return _("%(hours)s h") % {"hours": hours}


def _bounds(low: str, high: str, *, following_tier: bool) -> str:
    """One range restriction in words: 'for the first 3 h', 'after 20 kWh', 'from 1 h to 2 h'."""
    if low and high:
        return _("from %(low)s to %(high)s") % {"low": low, "high": high}
    if high and following_tier:
        # Translators: the next tier of a price, e.g. "€0.25/kWh up to 40 kWh".
        return _("up to %(limit)s") % {"limit": high}
    if high:
        return _("for the first %(limit)s") % {"limit": high}
    return _("after %(limit)s") % {"limit": low} if low else ""


def _days(days: list[str]) -> str:
    chosen = [d for d in WEEKDAYS if d in days]
    if chosen == list(WEEKDAYS[:5]):
        return pgettext("tariff", "on weekdays")
    if chosen == list(WEEKDAYS[5:]):
        return pgettext("tariff", "at weekends")
    if len(chosen) == 1:
        return _every_day(WEEKDAYS.index(chosen[0]))
    names = ", ".join(str(DAY_NAMES[WEEKDAYS.index(d)]) for d in chosen)
    # Translators: a price on some days, e.g. "on Mon, Wed, Fri".
    return pgettext("tariff", "on %(days)s") % {"days": names}


def _every_day(index: int) -> str:
    """A price that applies on one day of every week: 'on Mondays'."""
    return (
        pgettext("tariff", "on Mondays"),
        pgettext("tariff", "on Tuesdays"),
        pgettext("tariff", "on Wednesdays"),
        pgettext("tariff", "on Thursdays"),
        pgettext("tariff", "on Fridays"),
        pgettext("tariff", "on Saturdays"),
        pgettext("tariff", "on Sundays"),
    )[index]


def condition_words(r: dict[str, Any], *, following_tier: bool = False) -> str:
    """A tariff element's restrictions as people say them; "" when there are none."""

    def kwh(key: str) -> str:
        return _("%(number)s kWh") % {"number": number(r[key])} if r.get(key) else ""

    def duration(key: str) -> str:
        return duration_words(float(r[key])) if r.get(key) else ""

    parts = [
        _bounds(kwh("min_kwh"), kwh("max_kwh"), following_tier=following_tier),
        _bounds(duration("min_duration"), duration("max_duration"), following_tier=following_tier),
    ]
    for low, high, unit in (("min_power", "max_power", "kW"), ("min_current", "max_current", "A")):
        lo, hi = r.get(low), r.get(high)
        if lo and hi:
            words = _("from %(low)s to %(high)s %(unit)s")
        elif hi:
            words = _("below %(high)s %(unit)s")
        elif lo:
            words = _("at %(low)s %(unit)s or more")
        else:
            continue
        parts.append(words % {"low": number(lo or 0), "high": number(hi or 0), "unit": unit})
    if r.get("day_of_week"):
        parts.append(_days(list(r["day_of_week"])))
    start, end = r.get("start_time"), r.get("end_time")
    if start and end:
        parts.append(_("from %(start)s to %(end)s") % {"start": start, "end": end})
    elif start:
        parts.append(pgettext("time of day", "from %(start)s") % {"start": start})
    elif end:
        parts.append(pgettext("time of day", "until %(end)s") % {"end": end})
    if r.get("start_date"):
        parts.append(pgettext("date", "from %(date)s") % {"date": r["start_date"]})
    if r.get("end_date"):
        parts.append(pgettext("date", "before %(date)s") % {"date": r["end_date"]})
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
        return _("%(price)s start fee") % {"price": money(price, currency)}
    if dimension == "ENERGY":
        return _("%(price)s/kWh") % {"price": money(price, currency)}
    parking = dimension == "PARKING_TIME"
    if per_minute:
        words = _("%(price)s/min parking") if parking else _("%(price)s/min")
        return words % {"price": money(price / 60, currency)}
    words = _("%(price)s/h parking") if parking else _("%(price)s/h")
    return words % {"price": money(price, currency)}


def _tiered(r: dict[str, Any]) -> bool:
    """Whether a restriction is only an upper bound on the charge so far (a first tier)."""
    return bool(r) and set(r) <= {"max_duration", "max_kwh"}


@dataclass(frozen=True, slots=True)
class DimensionWords:
    """One dimension's prices in words. `plain`: one price with no condition. `alone`: for a
    price that only starts after some time or energy, its words without "also", for when
    nothing comes before it to add to."""

    words: str
    plain: bool = False
    alone: str = ""


def _dimension_words(dimension: str, entries: list[Entry], currency: str) -> DimensionWords:
    """One dimension's prices in words; words are "" when it is free."""
    per_minute = _per_minute(entries)

    def label(entry: Entry) -> str:
        if not entry.price:
            return _("no start fee") if dimension == "FLAT" else pgettext("price", "free")
        return _price_label(dimension, entry.price, currency, per_minute)

    if len(entries) == 1 and not entries[0].restrictions:
        return DimensionWords(label(entries[0]) if entries[0].price else "", plain=True)
    if len(entries) == 1 and set(entries[0].restrictions) <= {"min_duration", "min_kwh"}:
        fields = {"condition": condition_words(entries[0].restrictions), "price": label(entries[0])}
        return DimensionWords(
            # Translators: a price added later, e.g. "after 3 h also €0.06/min".
            _("%(condition)s also %(price)s") % fields,
            # Translators: a price that starts later, e.g. "after 3 h €0.06/min".
            alone=_("%(condition)s %(price)s") % fields,
        )
    parts: list[str] = []
    for index, entry in enumerate(entries):
        if not entry.restrictions:
            tiers = all(_tiered(e.restrictions) for e in entries[:index])
            # Translators: the price after the tiers before it, e.g. "then €0.25/kWh".
            words = _("then %(price)s") if tiers else _("otherwise %(price)s")
            parts.append(words % {"price": label(entry)})
            continue
        following = index > 0 and _tiered(entries[index - 1].restrictions)
        condition = condition_words(entry.restrictions, following_tier=following)
        # Translators: a price and when it applies, e.g. "€0.30/kWh for the first 3 h".
        parts.append(_("%(price)s %(condition)s") % {"price": label(entry), "condition": condition})
    return DimensionWords(", ".join(parts))


def _vat_words(entries: Iterable[Entry]) -> str:
    priced = [entry for entry in entries if entry.price]
    rates = {entry.vat for entry in priced if entry.vat is not None}
    if not priced:
        return ""
    if not rates:
        return _("no VAT")
    if len(rates) < len({entry.vat for entry in priced}):
        return _("incl. VAT where due")
    if len(rates) > 1:
        return _("incl. VAT")
    rate = formats.number_format(f"{next(iter(rates)).normalize():f}", use_l10n=True)
    return _("incl. %(rate)s%% VAT") % {"rate": rate}


def _limit(limit: dict[str, Any] | None, elements: Sequence[dict[str, Any]]) -> Decimal | None:
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
    elements: Sequence[dict[str, Any]],
    currency: str,
    *,
    min_price: dict[str, Any] | None = None,
    max_price: dict[str, Any] | None = None,
) -> str:
    """'€0.30/kWh; after 3 h also €0.06/min (incl. 21% VAT)', or 'Free'."""
    entries = _entries(elements)
    plain: list[str] = []
    conditional: list[DimensionWords] = []
    for dimension in DIMENSIONS:
        if not entries[dimension]:
            continue
        words = _dimension_words(dimension, entries[dimension], currency)
        if words.words and words.plain:
            plain.append(words.words)
        elif words.words:
            conditional.append(words)
    low, high = _limit(min_price, elements), _limit(max_price, elements)
    if not plain and not conditional:
        # Nothing priced by volume: the minimum, if any, is what every charge costs.
        if low:
            return _("%(price)s a charge") % {"price": money(low, currency)}
        return pgettext("tariff", "Free")
    body = " + ".join(plain)
    for words in conditional:
        body = f"{body}; {words.words}" if body else (words.alone or words.words)
    if low is not None and high is not None:
        limits = _("%(low)s to %(high)s a charge")
    elif low is not None:
        limits = _("at least %(low)s a charge")
    elif high is not None:
        limits = _("at most %(high)s a charge")
    else:
        limits = ""
    if limits:
        zero = Decimal(0)
        prices = {"low": money(low or zero, currency), "high": money(high or zero, currency)}
        body += "; " + limits % prices
    vat = _vat_words(entry for dimension in DIMENSIONS for entry in entries[dimension])
    sentence = f"{body} ({vat})" if vat else body
    return sentence[:1].upper() + sentence[1:]


def tariff_describe(tariff: PricedTariff) -> str:
    return describe(
        tariff.elements, tariff.currency, min_price=tariff.min_price, max_price=tariff.max_price
    )


def tariff_summaries(tariff: PricedTariff) -> dict[str, str]:
    """A tariff in words in each language of settings.LANGUAGES, written with the tariff (the
    SUMMARY_LANGUAGE's as its `summary`, the others as its `summaries`) so that lists and
    pages in any language never re-derive them. Changed translations reach a stored tariff
    when it is next written (a full pull rewrites every tariff)."""
    summaries = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            summaries[language] = tariff_describe(tariff)[:255]
    return summaries


def tariff_summary(tariff: Tariff) -> str:
    """A stored tariff in words in the active language: as written with it, else (a language
    added since it was written) worded now."""
    language = translation.get_language()
    if language in (None, SUMMARY_LANGUAGE):
        return tariff.summary
    if language in tariff.summaries:
        return str(tariff.summaries[language])
    return tariff_describe(tariff) if tariff.summary else ""


def lowest_energy_price(elements: Sequence[dict[str, Any]]) -> Decimal | None:
    """The lowest energy price (incl. VAT, per kWh) a tariff's elements ask; None without one.
    Stored with the tariff (`Tariff.lowest_energy_price`) for the headline."""
    energy = _entries(elements)["ENERGY"]
    return min(entry.price for entry in energy).quantize(MILLIONTH) if energy else None


class TariffWords(NamedTuple):
    """What a station's price headline reads of one of its tariffs: its words in the active
    language, its lowest energy price (incl. VAT) and its currency. (A tuple: lists key their
    memory of worded headlines by these.)"""

    words: str
    lowest_energy_price: Decimal | None
    currency: str

    @classmethod
    def of(cls, tariff: Tariff) -> "TariffWords":
        return cls(tariff_summary(tariff), tariff.lowest_energy_price, tariff.currency)


def headline(tariffs: Sequence[TariffWords]) -> str:
    """A station's price in one line: its one tariff's words, or, where charge points differ,
    'From €0.30/kWh' (the lowest energy price any of them asks) when every one prices energy
    in one currency."""
    distinct = {t.words for t in tariffs if t.words}
    if len(distinct) <= 1:
        return distinct.pop() if distinct else ""
    prices = [t.lowest_energy_price for t in tariffs if t.lowest_energy_price is not None]
    currencies = {t.currency for t in tariffs}
    if len(prices) < len(tariffs) or len(currencies) > 1:
        return _("Prices differ by charge point")
    return _("From %(price)s/kWh") % {"price": money(min(prices), currencies.pop())}


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
                summary=tariff_summary(tariff),
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
