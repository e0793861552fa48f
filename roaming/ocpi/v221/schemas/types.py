"""OCPI 2.2.1 primitive types (DateTime, string limits, coordinates), base model, envelope."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# --- primitive types (spec "Types" chapter) ---------------------------------------------------

_PRINTABLE_ASCII = r"^[\x20-\x7E]*$"
NUL_MESSAGE = "contains a NUL character (U+0000), which text may not hold"


def _without_nul(value: str) -> str:
    """PostgreSQL cannot store U+0000 in text or JSON: refusing it here makes one such object a
    2001 (pushed) or a skipped object (pulled), not a database error."""
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


def _nul_path(value: Any, path: str) -> str | None:
    """Where in a JSON value (keys included) a NUL character is, if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{str(key).replace(chr(0), '<NUL>')}"
            found = where if "\x00" in str(key) else _nul_path(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


WITHOUT_NUL = AfterValidator(_without_nul)

# CiString(n): case-insensitive printable ASCII; string(n): UTF-8 text without NUL. At most n
# characters.
CiString4 = Annotated[str, StringConstraints(max_length=4, pattern=_PRINTABLE_ASCII)]
CiString32 = Annotated[str, StringConstraints(max_length=32, pattern=_PRINTABLE_ASCII)]
CiString36 = Annotated[str, StringConstraints(max_length=36, pattern=_PRINTABLE_ASCII)]
CiString39 = Annotated[str, StringConstraints(max_length=39, pattern=_PRINTABLE_ASCII)]
CiString48 = Annotated[str, StringConstraints(max_length=48, pattern=_PRINTABLE_ASCII)]
CiString64 = Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE_ASCII)]
String4 = Annotated[str, StringConstraints(max_length=4), WITHOUT_NUL]
String10 = Annotated[str, StringConstraints(max_length=10), WITHOUT_NUL]
String16 = Annotated[str, StringConstraints(max_length=16), WITHOUT_NUL]
String45 = Annotated[str, StringConstraints(max_length=45), WITHOUT_NUL]
String64 = Annotated[str, StringConstraints(max_length=64), WITHOUT_NUL]
String100 = Annotated[str, StringConstraints(max_length=100), WITHOUT_NUL]
String255 = Annotated[str, StringConstraints(max_length=255), WITHOUT_NUL]
String512 = Annotated[str, StringConstraints(max_length=512), WITHOUT_NUL]
String5000 = Annotated[str, StringConstraints(max_length=5000), WITHOUT_NUL]

_DATETIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z?$")


def _utc_datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("a DateTime must be a string")
    if not _DATETIME_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not an OCPI DateTime: use RFC 3339 in UTC, e.g. 2015-06-29T20:39:09Z"
        )
    return value


def _as_utc(value: datetime) -> datetime:
    """The datetime in the standard library's UTC, not pydantic's own `TzInfo(0)`: a pull
    hands its values to another process, and each TzInfo pickled as an object of its own
    (a fifth of the reader's time went into pickling them)."""
    if value.tzinfo is not None and value.utcoffset() != UTC.utcoffset(None):
        raise ValueError("an OCPI DateTime must be in UTC")
    return value.replace(tzinfo=UTC)


DateTime = Annotated[datetime, BeforeValidator(_utc_datetime_text), AfterValidator(_as_utc)]
"""RFC 3339 timestamp in UTC; parsed into an aware datetime."""


def _degrees_within(limit: int) -> AfterValidator:
    """The spec's pattern lets through 95.00000 degrees of latitude: refuse it here, so such an
    object is skipped (in a pull) or refused (pushed) like any other invalid one."""

    def check(value: str) -> str:
        if abs(float(value)) > limit:
            raise ValueError(f"must be between -{limit} and {limit} degrees")
        return value

    return AfterValidator(check)


Latitude = Annotated[
    str,
    StringConstraints(max_length=10, pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$"),
    _degrees_within(90),
]
Longitude = Annotated[
    str,
    StringConstraints(max_length=11, pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$"),
    _degrees_within(180),
]
Time24 = Annotated[str, StringConstraints(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
DateOnly = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
]
PartyId = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=_PRINTABLE_ASCII)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
# Credentials tokens: printable ASCII without spaces (0x21-0x7E), at most 64 characters.
CredentialsTokenText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")
]
Url = String255
Language = Annotated[str, StringConstraints(min_length=2, max_length=2), WITHOUT_NUL]


class OcpiModel(BaseModel):
    """Base of every OCPI object: unknown fields are kept (see `unknown_fields`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)

    @model_validator(mode="after")
    def _extras_without_nul(self) -> OcpiModel:
        """Unknown fields are stored too (inside JSON columns, a CDR as sent), so they obey the
        same rule as `String(n)`; most objects have none, so this costs nothing."""
        if self.model_extra and (where := _nul_path(self.model_extra, "")):
            raise ValueError(f"{where.lstrip('.')}: {NUL_MESSAGE}")
        return self


def unknown_fields(model: BaseModel, path: str = "") -> list[str]:
    """Dotted paths of every field in `model` (recursively) that the spec does not define."""
    found = [f"{path}{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                suffix = f"[{index}]" if isinstance(value, list) else ""
                found.extend(unknown_fields(item, f"{path}{name}{suffix}."))
    return found


# --- response envelope ------------------------------------------------------------------------

DataT = TypeVar("DataT")


class OcpiResponse(OcpiModel, Generic[DataT]):
    """The envelope of every OCPI response; `data` is absent where the spec leaves it out."""

    data: DataT | None = None
    status_code: Annotated[int, Field(ge=1000, le=9999)]
    status_message: String255 | None = None
    timestamp: DateTime
