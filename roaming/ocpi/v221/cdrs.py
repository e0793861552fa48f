"""OCPI 2.2.1 CDRs (mod_cdrs): a partner's charge detail record read into a `ChargeRecord`.

Beyond the schema, a CDR must add up to something we can bill: costs are not negative except
the total of a credit CDR, which must name the CDR it credits (`credit_reference_id`). A
period's charging and parking time come from its TIME and PARKING_TIME dimensions; a period
that gives neither (some CPOs send only ENERGY) lasts until the next one starts, or the CDR
ends, and counts as charging when it delivered energy, else as parking.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from locator.catalogue import TariffRecord
from roaming.adapters.base import ChargePeriod, ChargeRecord, Cost
from roaming.ocpi.v221 import schemas
from roaming.ocpi.v221.reading import invalid, validated
from roaming.ocpi.v221.tariffs import tariff_record

CostReader = Callable[[Any], Cost | None]

HOUR = Decimal(3600)
# Beyond these a CDR is not a charge of a car (and would not fit our rows): refused as invalid.
MAX_COST = Decimal(1_000_000)
MAX_VOLUME = Decimal(100_000)


def cost(price: schemas.Price | None) -> Cost | None:
    """A Price as a Cost; without `incl_vat` the partner stated no VAT, so both are equal."""
    if price is None:
        return None
    return Cost(
        excl_vat=price.excl_vat,
        incl_vat=price.incl_vat if price.incl_vat is not None else price.excl_vat,
    )


def hours_between(start: datetime, end: datetime) -> Decimal:
    return Decimal(str(max(0.0, (end - start).total_seconds()))) / HOUR


def charge_period(
    period: schemas.ChargingPeriod, *, index: int, next_start: datetime
) -> ChargePeriod:
    volumes: dict[str, Decimal] = {}
    for dimension in period.dimensions:
        if not 0 <= dimension.volume < MAX_VOLUME:
            raise invalid("CDR", f"charging_periods.{index}: {dimension.type} is out of range")
        kind = str(dimension.type)
        if kind == schemas.CdrDimensionType.MAX_POWER:
            volumes[kind] = max(volumes.get(kind, Decimal(0)), dimension.volume)
        else:
            volumes[kind] = volumes.get(kind, Decimal(0)) + dimension.volume
    energy = volumes.get("ENERGY", Decimal(0))
    charging = volumes.get("TIME", Decimal(0))
    parking = volumes.get("PARKING_TIME", Decimal(0))
    if "TIME" not in volumes and "PARKING_TIME" not in volumes:
        length = hours_between(period.start_date_time, next_start)
        charging, parking = (length, Decimal(0)) if energy > 0 else (Decimal(0), length)
    return ChargePeriod(
        start=period.start_date_time,
        energy_kwh=energy,
        charging_hours=charging,
        parking_hours=parking,
        max_power_kw=volumes.get("MAX_POWER"),
        tariff_id=period.tariff_id or "",
    )


def cdr_record(
    payload: Any,
    *,
    model: type[schemas.CDR] = schemas.CDR,
    cost: CostReader = cost,
    tariff: Callable[[Any], TariffRecord] = tariff_record,
) -> ChargeRecord:
    """Validate a CDR and read it; raises PartnerError (2001) naming what is wrong. A later
    version passes its own CDR model and readers of its money and tariffs."""
    cdr: schemas.CDR = validated(model, payload, what="CDR")
    total = cost(cdr.total_cost)
    assert total is not None
    if cdr.credit:
        if not cdr.credit_reference_id:
            raise invalid("CDR", "a credit CDR must name the CDR it credits (credit_reference_id)")
        if total.incl_vat > 0:
            raise invalid("CDR", "a credit CDR's total_cost must not be positive")
    elif total.excl_vat < 0 or total.incl_vat < 0:
        raise invalid("CDR", "total_cost is negative but the CDR is not a credit CDR")
    costs = (total.excl_vat, total.incl_vat)
    if any(abs(amount) >= MAX_COST for amount in costs):
        raise invalid("CDR", f"total_cost is beyond {MAX_COST} {cdr.currency}")
    if not all(0 <= volume < MAX_VOLUME for volume in (cdr.total_energy, cdr.total_time)):
        raise invalid("CDR", "total_energy and total_time must be between 0 and 100000")
    if cdr.end_date_time < cdr.start_date_time:
        raise invalid("CDR", "end_date_time is before start_date_time")
    periods = sorted(cdr.charging_periods, key=lambda p: p.start_date_time)
    starts = [p.start_date_time for p in periods[1:]] + [cdr.end_date_time]
    location = cdr.cdr_location
    return ChargeRecord(
        country_code=cdr.country_code.upper(),
        party_id=cdr.party_id.upper(),
        id=cdr.id,
        session_id=cdr.session_id or "",
        authorization_reference=cdr.authorization_reference or "",
        token_country_code=cdr.cdr_token.country_code.upper(),
        token_party_id=cdr.cdr_token.party_id.upper(),
        token_uid=cdr.cdr_token.uid,
        location_id=location.id,
        location_name=location.name or "",
        location_address=", ".join(
            part for part in (location.address, location.postal_code, location.city) if part
        ),
        evse_uid=location.evse_uid,
        evse_id=location.evse_id,
        connector_id=location.connector_id,
        currency=cdr.currency,
        started_at=cdr.start_date_time,
        ended_at=cdr.end_date_time,
        total=total,
        fixed_cost=cost(cdr.total_fixed_cost),
        energy_cost=cost(cdr.total_energy_cost),
        time_cost=cost(cdr.total_time_cost),
        parking_cost=cost(cdr.total_parking_cost),
        total_energy_kwh=cdr.total_energy,
        total_time_hours=cdr.total_time,
        total_parking_hours=cdr.total_parking_time or Decimal(0),
        periods=tuple(
            charge_period(period, index=index, next_start=next_start)
            for index, (period, next_start) in enumerate(zip(periods, starts, strict=True))
        ),
        tariffs=tuple(tariff(item) for item in cdr.tariffs),
        credit=bool(cdr.credit),
        credit_reference_id=cdr.credit_reference_id or "",
        last_updated=cdr.last_updated,
        payload=payload,
    )
