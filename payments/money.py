"""Amounts in minor units, as Stripe counts them, and how a person reads them."""

from decimal import Decimal, InvalidOperation

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
    per = minor_per_major(currency)
    major = Decimal(amount) / per
    digits = "0" if per == 1 else "0.00"
    number = f"{major.quantize(Decimal(digits)):,}"
    symbol = SYMBOLS.get(currency.lower())
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


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
