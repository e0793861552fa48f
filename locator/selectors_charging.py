"""What the charging side (roaming's sessions, CDR billing, receipts) reads from the catalogue.

The only locator module charging imports besides `locator.selectors`: the EVSE a driver asks
to start, the location or tariff a partner's Session or CDR names, the price of a typical
charge, a tariff in words, and a CDR's periods priced. Reads only; catalogue writes go through
`locator.catalogue`. `Evse` and `Location` are re-exported for type hints.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from locator import pricing
from locator.audience import viewer_stations
from locator.models import Evse as Evse
from locator.models import Location as Location
from locator.models import Tariff
from locator.selectors_station import location_tariffs
from locator.tariff_cost import periods_price as periods_price

FALLBACK_POWER_KW = 11.0


@dataclass(frozen=True)
class TypicalCharge:
    """A typical charge on an EVSE priced with its tariff, in the tariff's major units."""

    cost: Decimal
    currency: str
    tariff_id: str


def evse_for_start(*, evse_id: int, user: AbstractBaseUser | AnonymousUser) -> Evse | None:
    """An EVSE (its location loaded) of a station this driver may see (a restricted one only
    when its `publish_allowed_to` names them) that has not been removed, or None."""
    return (
        Evse.objects.filter(pk=evse_id, location__in=viewer_stations(user=user))
        .exclude(status="REMOVED")
        .select_related("location")
        .first()
    )


def location_find(
    *, source: str, country_code: str, party_id: str, ocpi_id: str
) -> Location | None:
    """The location a partner names by its party and id, visible or not."""
    return Location.objects.filter(
        source=source, country_code=country_code, party_id=party_id, ocpi_id=ocpi_id
    ).first()


def tariff_find(*, source: str, country_code: str, party_id: str, ocpi_id: str) -> Tariff | None:
    """The tariff a partner names by its party and id."""
    return Tariff.objects.filter(
        source=source, country_code=country_code, party_id=party_id, ocpi_id=ocpi_id
    ).first()


def typical_charge(*, location: Location, evse: Evse | None) -> TypicalCharge | None:
    """`pricing.TYPICAL_KWH` at the EVSE's power with the first tariff its connectors (else its
    location) name, or None when we hold no such tariff."""
    connectors = list(evse.connectors.order_by("ocpi_id")) if evse is not None else []
    tariff_ids = [t for c in connectors for t in (c.tariff_ids or [])] or [location.tariff_id]
    tariffs = location_tariffs(location=location, ocpi_ids=tariff_ids)
    tariff = next((tariffs[t] for t in tariff_ids if t in tariffs), None)
    if tariff is None:
        return None
    power_kw = max((c.power_kw for c in connectors), default=0) or FALLBACK_POWER_KW
    cost = pricing.estimate(
        tariff, kwh=pricing.TYPICAL_KWH, power_kw=power_kw, time_zone=location.time_zone
    )
    return TypicalCharge(cost=cost, currency=tariff.currency, tariff_id=tariff.ocpi_id)


def tariff_words(tariff: pricing.PricedTariff) -> str:
    """A tariff as a driver reads it ('€0.30/kWh; after 3 h also €0.06/min')."""
    return pricing.tariff_describe(tariff)
