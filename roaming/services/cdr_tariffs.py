"""The tariff a CDR is checked against: the one the driver was shown (the session's, from our
catalogue), else one the CDR's periods name, else the first the CDR carries."""

from dataclasses import dataclass
from typing import Any

from locator.selectors_charging import location_find, tariff_find
from roaming.adapters import adapter_for
from roaming.adapters.base import ChargeRecord
from roaming.models import ChargeDetailRecord
from roaming.services.sync import catalogue_source


@dataclass(frozen=True)
class ChargeTariff:
    """The tariff a charge is reckoned with, and where its location's clock runs."""

    id: str
    currency: str
    elements: list[dict[str, Any]]
    min_price: dict[str, Any] | None
    max_price: dict[str, Any] | None
    time_zone: str


def charge_tariff(
    *, cdr: ChargeDetailRecord, record: ChargeRecord | None = None
) -> ChargeTariff | None:
    """The tariff to check a CDR against: the one the driver was shown (the session's, from
    our catalogue), else one the CDR's periods name, else the first the CDR carries."""
    source = catalogue_source(cdr.partner)
    party = {"source": source, "country_code": cdr.country_code, "party_id": cdr.party_id}
    payload = cdr.payload if isinstance(cdr.payload, dict) else {}
    location_id = (payload.get("cdr_location") or {}).get("id", "")
    location = location_find(**party, ocpi_id=location_id)
    zone = location.time_zone if location is not None and location.time_zone else "UTC"
    wanted = [cdr.session.tariff_id] if cdr.session and cdr.session.tariff_id else []
    wanted += [
        p.get("tariff_id") for p in payload.get("charging_periods") or [] if p.get("tariff_id")
    ]
    for tariff_id in wanted:
        stored = tariff_find(**party, ocpi_id=tariff_id)
        if stored is not None:
            return ChargeTariff(
                id=stored.ocpi_id,
                currency=stored.currency,
                elements=list(stored.elements),
                min_price=stored.min_price,
                max_price=stored.max_price,
                time_zone=zone,
            )
    if record is None:
        record = adapter_for(cdr.partner).cdr_parse(cdr.payload)
    carried = sorted(record.tariffs, key=lambda t: t.id not in wanted)
    if not carried:
        return None
    return ChargeTariff(
        id=carried[0].id,
        currency=carried[0].currency,
        elements=list(carried[0].elements),
        min_price=carried[0].min_price,
        max_price=carried[0].max_price,
        time_zone=zone,
    )
