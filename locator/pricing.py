"""OCPI tariffs in plain words and a typical-charge estimate.

Prices in OCPI 2.2.1 are excl. VAT with an optional VAT percentage per component; we show what
a driver pays (incl. VAT when the tariff says it). Only the unrestricted element and elements
restricted by duration are put into words; time-of-day and power bands are summarised as
"varies". The estimate follows the spec's rule that, per dimension, the first element whose
restrictions match applies.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF ", "SEK": "SEK ", "NOK": "NOK "}
TYPICAL_KWH = 30
TYPICAL_MINUTES = 45
UNIT_WORDS = {
    "ENERGY": "/kWh",
    "TIME": "/min",
    "PARKING_TIME": "/min parking",
    "FLAT": " per charge",
}


def _gross(component: dict[str, Any]) -> Decimal:
    price = Decimal(str(component.get("price", 0)))
    vat = component.get("vat")
    if vat:
        price = price * (1 + Decimal(str(vat)) / 100)
    if component.get("type") in ("TIME", "PARKING_TIME"):
        price = price / 60  # OCPI prices time per hour; drivers read per minute
    return price


def money(amount: Decimal, currency: str) -> str:
    sign = CURRENCY_SIGNS.get(currency, f"{currency} ")
    return f"{sign}{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


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
    """'€0.49/kWh + €0.10/min after 60 min', '€0.96/kWh, at least €2.42 and at most €48.40 a
    charge', or 'Free' for a tariff that costs nothing."""
    parts: list[str] = []
    seen: set[str] = set()
    for element in elements:
        restrictions = element.get("restrictions") or {}
        suffix = ""
        if restrictions.get("min_duration"):
            suffix = f" after {int(restrictions['min_duration']) // 60} min"
        elif restrictions.get("max_duration"):
            suffix = f" for the first {int(restrictions['max_duration']) // 60} min"
        elif set(restrictions) - {"min_duration", "max_duration"}:
            suffix = " at some times"
        for component in element.get("price_components") or []:
            kind = component.get("type", "")
            price = _gross(component)
            if kind not in UNIT_WORDS or price == 0:
                continue
            label = f"{money(price, currency)}{UNIT_WORDS[kind]}{suffix}"
            if label not in seen:
                seen.add(label)
                parts.append(label)
    lowest, highest = _limit(min_price, elements), _limit(max_price, elements)
    bounds = [
        f"{word} {money(amount, currency)}"
        for word, amount in (("at least", lowest), ("at most", highest))
        if amount
    ]
    if not parts:
        return f"{money(lowest, currency)} a charge" if lowest else "Free"
    return " + ".join(parts) + (f", {' and '.join(bounds)} a charge" if bounds else "")


def estimate(
    elements: list[dict[str, Any]],
    *,
    kwh: float = TYPICAL_KWH,
    minutes: float = TYPICAL_MINUTES,
) -> Decimal:
    """What a charge of `kwh` over `minutes` costs, incl. VAT, before any min/max price."""
    total = Decimal(0)
    done: set[str] = set()
    duration_s = minutes * 60
    for element in elements:
        restrictions = element.get("restrictions") or {}
        for component in element.get("price_components") or []:
            kind = component.get("type", "")
            if kind in done:
                continue
            lower = float(restrictions.get("min_duration") or 0)
            upper = float(restrictions.get("max_duration") or duration_s)
            if lower >= duration_s:
                continue
            done.add(kind)
            price = _gross(component)
            if kind == "ENERGY":
                total += price * Decimal(str(kwh))
            elif kind in ("TIME", "PARKING_TIME"):
                total += price * Decimal(str((min(upper, duration_s) - lower) / 60))
            elif kind == "FLAT":
                total += price
    return total
