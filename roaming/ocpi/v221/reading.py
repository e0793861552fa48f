"""Reading what an OCPI 2.2.1 peer sent: validation against our schemas, tolerant of common
deviations (`null` for an absent optional, a DateTime with an explicit UTC offset), with a
PartnerError (2001) naming the bad field."""

import re
from typing import Any, TypeVar

import pydantic

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


WireModel = TypeVar("WireModel", bound=pydantic.BaseModel)


def wire_parse(
    model: type[WireModel], data: Any, *, what: str, ocpi_status: int, reason: str = ""
) -> WireModel:
    """Validate a handshake object (no tolerance: a peer we cannot read is a peer we cannot
    use), or a permanent PartnerError naming the first bad field and the status to answer."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise PartnerError(
            f"{what} is invalid ({validation_message(exc)})",
            permanent=True,
            ocpi_status=ocpi_status,
            reason=reason,
        ) from exc
