"""OCPI 2.3.0 money in our neutral terms: a `Price{before_taxes, taxes*}` is a Cost whose
amount after taxes is the sum of its taxes on top; a `PriceLimit{before_taxes, after_taxes?}`
is a tariff limit in the catalogue's `{excl_vat, incl_vat}` shape, and back."""

from dataclasses import replace
from decimal import Decimal
from typing import Any

from locator.catalogue import TariffRecord
from roaming.adapters.base import Cost
from roaming.ocpi.v221 import render
from roaming.ocpi.v221.tariffs import tariff_record as tariff_record_221
from roaming.ocpi.v230 import schemas


def cost(price: schemas.Price | None) -> Cost | None:
    if price is None:
        return None
    taxes = sum((tax.amount for tax in price.taxes), Decimal(0))
    return Cost(excl_vat=price.before_taxes, incl_vat=price.before_taxes + taxes)


def price(total: schemas.Price | None) -> Decimal | None:
    """A session's running cost as the driver sees it: after taxes."""
    amount = cost(total)
    return amount.incl_vat if amount else None


def limit(value: schemas.PriceLimit | None) -> dict[str, float] | None:
    if value is None:
        return None
    found = {"excl_vat": float(value.before_taxes)}
    if value.after_taxes is not None:
        found["incl_vat"] = float(value.after_taxes)
    return found


def tariff_record(tariff: schemas.Tariff) -> TariffRecord:
    return replace(
        tariff_record_221(tariff),
        min_price=limit(tariff.min_price),
        max_price=limit(tariff.max_price),
    )


def limit_wire(value: dict[str, float] | None) -> dict[str, float] | None:
    if value is None:
        return None
    found = {"before_taxes": value["excl_vat"]}
    if "incl_vat" in value:
        found["after_taxes"] = value["incl_vat"]
    return found


def tariff_wire(tariff: TariffRecord) -> dict[str, Any]:
    """Our stored tariff in 2.3.0 shape. The catalogue keeps prices before taxes, so they are
    sent as such (`tax_included: NO`)."""
    wire = render.tariff_wire(replace(tariff, min_price=None, max_price=None))
    return render.without_empty(
        {
            **wire,
            "min_price": limit_wire(tariff.min_price),
            "max_price": limit_wire(tariff.max_price),
            "tax_included": schemas.TaxIncluded.NO.value,
        }
    )
