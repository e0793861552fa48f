"""Reading OCPI 2.2.1 objects a partner sent: tolerant validation, and neutral records.

Inbound objects are read tolerantly before validation: `null` stands for an absent optional,
and a DateTime with an explicit UTC offset is taken as the instant it names. Shared by the
adapter and the module readers beside this one (`cdrs`, ...), which cannot import the adapter
(it imports them).
"""

import re
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pydantic

from locator.catalogue import TariffRecord
from roaming.errors import PartnerError
from roaming.ocpi.transport import OcpiStatus, ocpi_datetime_parse, ocpi_timestamp
from roaming.ocpi.v221 import schemas

OFFSET_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")


def lenient(value: Any) -> Any:
    """Drop `null` members and turn offset DateTimes into `Z` ones, recursively."""
    if isinstance(value, dict):
        return {key: lenient(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [lenient(item) for item in value if item is not None]
    if isinstance(value, str) and OFFSET_DATETIME.match(value):
        return ocpi_timestamp(ocpi_datetime_parse(value))
    return value


def validation_message(exc: pydantic.ValidationError, prefix: str = "") -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "") or "body"
    return f"{where}: {error['msg']}"


def invalid(what: str, detail: str) -> PartnerError:
    return PartnerError(
        f"invalid {what}: {detail}", permanent=True, ocpi_status=OcpiStatus.INVALID_PARAMETERS
    )


def validated(model: type[schemas.OcpiModel], payload: Any, *, what: str) -> Any:
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError:
        pass
    # Most objects are well formed; only a failing one pays for the tolerant second reading.
    try:
        return model.model_validate(lenient(payload))
    except pydantic.ValidationError as exc:
        raise invalid(what, validation_message(exc)) from exc


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
