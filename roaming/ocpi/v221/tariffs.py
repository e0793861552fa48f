"""Reading OCPI 2.2.1 tariffs into catalogue records (a pushed or pulled Tariff, and the
tariffs a CDR carries)."""

from decimal import Decimal
from enum import StrEnum
from typing import Any

from locator.catalogue import TariffRecord
from roaming.ocpi.v221 import schemas


def with_numbers(value: Any) -> Any:
    """A dumped object with OCPI's decimals as JSON numbers (pydantic would give strings)."""
    if isinstance(value, dict):
        return {key: with_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_numbers(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, StrEnum):
        return str(value)
    return value


def tariff_record(tariff: schemas.Tariff) -> TariffRecord:
    data = with_numbers(tariff.model_dump(exclude_defaults=True))
    return TariffRecord(
        country_code=tariff.country_code.upper(),
        party_id=tariff.party_id.upper(),
        id=tariff.id,
        currency=tariff.currency,
        type=str(tariff.type or ""),
        tariff_alt_text=tuple(data.get("tariff_alt_text", ())),
        tariff_alt_url=tariff.tariff_alt_url or "",
        min_price=data.get("min_price"),
        max_price=data.get("max_price"),
        elements=tuple(data["elements"]),
        start_date_time=tariff.start_date_time,
        end_date_time=tariff.end_date_time,
        last_updated=tariff.last_updated,
    )
