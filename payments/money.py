"""Amounts in minor units, as Stripe counts them, and how a person reads them."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import pgettext

# Currencies Stripe counts in whole units (docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "chf": "CHF ", "jpy": "¥"}
# Stripe's smallest charge per currency (docs.stripe.com/currencies, "Minimum and maximum
# charge amounts"); below it a separate charge is refused, so such differences are absorbed.
MINIMUM_CHARGE = {"eur": 50, "usd": 50, "gbp": 30, "chf": 50, "dkk": 250, "sek": 300, "nok": 300}


def minor_per_major(currency: str) -> int:
    return 1 if currency.lower() in ZERO_DECIMAL else 100


def format_money(amount: int, currency: str) -> str:
    """`5000, "eur"` → "€50.00"; `500, "jpy"` → "¥500"."""
    return format_amount(Decimal(amount) / minor_per_major(currency), currency)


def format_amount(major: Decimal, currency: str, *, places: int | None = None) -> str:
    """An amount in major units as the active language writes it, rounded half up to `places`
    decimals (the currency's own by default): "€1,234.50" in English, "1.234,50 €" in German.
    The one place money is worded; whether the sign goes before or after is each
    language's translation of the pattern."""
    if places is None:
        places = 0 if minor_per_major(currency) == 1 else 2
    rounded = major.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    number = formats.number_format(rounded, places, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get(currency.lower())
    if symbol:
        # Translators: an amount with a currency sign (€, $, £, "CHF "); keep both fields.
        pattern = pgettext("money", "%(sign)s%(number)s")
        return (pattern % {"sign": symbol, "number": number}).strip()
    # Translators: an amount with a currency code (SEK, DKK...); keep both fields.
    return pgettext("money", "%(number)s %(code)s") % {"number": number, "code": currency.upper()}


def parse_major(text: str, currency: str) -> int:
    """ "12.34" in EUR → 1234. Raises ValueError with a readable message."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():  # Decimal also reads "Infinity" and "NaN"
        raise ValueError(f"{text!r} is not an amount; write it like 12.34.")
    minor = value * minor_per_major(currency)
    if minor != minor.to_integral_value():
        raise ValueError(f"{text} has more decimals than {currency.upper()} allows.")
    return int(minor)
