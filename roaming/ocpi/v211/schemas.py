"""OCPI 2.1.1 wire schemas (`ocpi/ocpi` tag 2.1.1), where they differ from 2.2.1's.

What 2.1.1 lacks or names differently:
- Credentials: one party (`business_details`, `party_id`, `country_code`), no `roles` array.
- Version details: endpoints without a `role`.
- Locations carry no `country_code`/`party_id`/`publish` (the owner is the party that sent
  them) and a `type` (LocationType) instead of `parking_type`; `postal_code` is required,
  `time_zone` is not. Connectors have `voltage`, `amperage` and one `tariff_id`.
- Tariffs: no owner, no `type`, no `min_price`/`max_price`.
- Tokens: no owner; `auth_id` where 2.2.1 has `contract_id`. Sessions and CDRs name the
  driver by `auth_id` and embed the whole Location; their costs are plain numbers (2.2.1:
  Price objects); CDRs end at `stop_date_time`.
- Commands: a CommandResponse has no `timeout` and is also what the CPO posts as the result.

The 2.1.1 enums are subsets of 2.2.1's (2.1.1 lacks e.g. `GBT_AC`), so 2.2.1's are used:
reading a value 2.1.1 did not have yet is harmless. Those we send are narrowed to 2.1.1's values
(a Token's type is OTHER or RFID: no APP_USER). Objects that did not change are 2.2.1's;
the others are derived from theirs by naming what 2.1.1 drops and adds (`derived`), so that
each difference is written once, here.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, create_model

from roaming.ocpi.v221 import schemas as v221
from roaming.ocpi.v221.schemas import (
    BusinessDetails,
    CountryCode,
    CredentialsTokenText,
    OcpiModel,
    PartyId,
    String64,
    String255,
    Url,
)

# 2.1.1 ids of locations and EVSEs are string(39).
String36 = Annotated[str, StringConstraints(max_length=36)]
String39 = Annotated[str, StringConstraints(max_length=39)]


class LocationType(StrEnum):
    ON_STREET = "ON_STREET"
    PARKING_GARAGE = "PARKING_GARAGE"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


def narrowed(
    enum: type[StrEnum], *, without: tuple[str, ...] = (), adding: tuple[str, ...] = ()
) -> Any:
    """2.1.1's version of a 2.2.1 enum: its values without some, with others."""
    values = [member.value for member in enum if member.value not in without]
    return StrEnum(enum.__name__, {value: value for value in (*values, *adding)})


AuthMethod = narrowed(v221.AuthMethod, without=("COMMAND",))
SessionStatus = narrowed(v221.SessionStatus, without=("RESERVATION",))
CdrDimensionType = narrowed(
    v221.CdrDimensionType,
    without=(*v221.CDR_FORBIDDEN_DIMENSIONS, "MAX_POWER", "MIN_POWER", "RESERVATION_TIME"),
    adding=("FLAT",),
)
CommandResponseType = narrowed(v221.CommandResponseType, adding=("TIMEOUT",))
# 2.1.1 knows no app or ad hoc users: a token is an RFID card or OTHER.
TokenType = narrowed(v221.TokenType, without=("AD_HOC_USER", "APP_USER"))


# --- versions and credentials -----------------------------------------------------------------


class Endpoint(OcpiModel):
    """A module the peer offers: in 2.1.1 without a role (its role follows from the module)."""

    identifier: String64
    url: Url


class VersionDetails(OcpiModel):
    version: v221.VersionNumber
    endpoints: Annotated[list[Endpoint], Field(min_length=1)]


class Credentials(OcpiModel):
    """2.1.1 credentials: the one party the peer is, instead of a list of roles."""

    token: CredentialsTokenText
    url: Url
    business_details: BusinessDetails
    party_id: PartyId
    country_code: CountryCode


# --- derivation -------------------------------------------------------------------------------


def derived(
    base: type[OcpiModel], name: str, *, drop: tuple[str, ...] = (), **fields: Any
) -> type[OcpiModel]:
    """A model with `base`'s fields except `drop`, and `fields` ((type, default or Field))
    added or replaced."""
    for field in (*drop, *fields):
        if field in drop and field not in base.model_fields:
            raise ValueError(f"{base.__name__} has no field {field}")
    kept: dict[str, Any] = {
        field: (info.annotation, info)
        for field, info in base.model_fields.items()
        if field not in drop and field not in fields
    }
    return create_model(name, __base__=OcpiModel, __module__=__name__, **kept, **fields)


REQUIRED = ...
TEXT_36 = (String36, REQUIRED)


def many() -> Any:
    """An optional list (`*` in the spec): empty when absent."""
    return Field(default_factory=list)


# --- locations --------------------------------------------------------------------------------

Connector = derived(
    v221.Connector,
    "Connector",
    drop=("max_voltage", "max_amperage", "max_electric_power", "tariff_ids"),
    id=TEXT_36,
    voltage=(Annotated[int, Field(ge=0)], REQUIRED),
    amperage=(Annotated[int, Field(ge=0)], REQUIRED),
    tariff_id=(String36 | None, None),
)
EVSE = derived(
    v221.EVSE,
    "EVSE",
    uid=(String39, REQUIRED),
    connectors=(list[Connector], Field(min_length=1)),  # type: ignore[valid-type]
)
Location = derived(
    v221.Location,
    "Location",
    drop=("country_code", "party_id", "publish", "publish_allowed_to", "parking_type", "state"),
    id=(String39, REQUIRED),
    type=(LocationType, REQUIRED),
    postal_code=(Annotated[str, StringConstraints(max_length=10)], REQUIRED),
    time_zone=(String255 | None, None),
    evses=(list[EVSE], many()),  # type: ignore[valid-type]
)

# --- tariffs and tokens -----------------------------------------------------------------------

Tariff = derived(
    v221.Tariff,
    "Tariff",
    drop=(
        "country_code",
        "party_id",
        "type",
        "min_price",
        "max_price",
        "start_date_time",
        "end_date_time",
    ),
    id=TEXT_36,
)
Token = derived(
    v221.Token,
    "Token",
    drop=(
        "country_code",
        "party_id",
        "contract_id",
        "group_id",
        "default_profile_type",
        "energy_contract",
    ),
    uid=TEXT_36,
    type=(TokenType, REQUIRED),
    auth_id=TEXT_36,
)
LocationReferences = derived(
    v221.LocationReferences,
    "LocationReferences",
    location_id=(String39, REQUIRED),
    evse_uids=(list[String39], many()),
    connector_ids=(list[String36], many()),
)
# 2.1.1's answer to a real-time authorization: no Token echoed, no reference.
AuthorizationInfo = derived(
    v221.AuthorizationInfo,
    "AuthorizationInfo",
    drop=("token", "authorization_reference"),
    location=(LocationReferences | None, None),
)

# --- sessions and CDRs ------------------------------------------------------------------------

Dimension = derived(v221.CdrDimension, "CdrDimension", type=(CdrDimensionType, REQUIRED))
ChargingPeriod = derived(
    v221.ChargingPeriod,
    "ChargingPeriod",
    dimensions=(list[Dimension], Field(min_length=1)),  # type: ignore[valid-type]
)
# Who charged (auth_id) and where (a Location with the one EVSE and connector in use): the
# same in a Session and a CDR.
DRIVER_AND_PLACE: dict[str, Any] = {
    "auth_id": TEXT_36,
    "auth_method": (AuthMethod, REQUIRED),
    "location": (Location, REQUIRED),
    "charging_periods": (list[ChargingPeriod], many()),  # type: ignore[valid-type]
}
# What 2.2.1 has instead (2.1.1 knows no owner, token object, reference or separate EVSE ids).
NOT_IN_211 = (
    "country_code",
    "party_id",
    "cdr_token",
    "authorization_reference",
)
Session = derived(
    v221.Session,
    "Session",
    drop=(
        *NOT_IN_211,
        "start_date_time",
        "end_date_time",
        "location_id",
        "evse_uid",
        "connector_id",
    ),
    id=TEXT_36,
    start_datetime=(v221.DateTime, REQUIRED),
    end_datetime=(v221.DateTime | None, None),
    total_cost=(Decimal | None, None),
    status=(SessionStatus, REQUIRED),
    **DRIVER_AND_PLACE,
)
# A 2.1.1 Session PATCH: any field, and `last_updated` is not required in 2.1.1.
SessionPatch = derived(
    v221.SessionPatch,
    "SessionPatch",
    drop=("end_date_time",),
    end_datetime=(v221.DateTime | None, None),
    charging_periods=(list[ChargingPeriod], many()),  # type: ignore[valid-type]
    total_cost=(Decimal | None, None),
    status=(SessionStatus | None, None),
    last_updated=(v221.DateTime | None, None),
)
CDR = derived(
    v221.CDR,
    "CDR",
    drop=(
        *NOT_IN_211,
        "end_date_time",
        "session_id",
        "cdr_location",
        "signed_data",
        "total_fixed_cost",
        "total_energy_cost",
        "total_time_cost",
        "total_parking_cost",
        "total_reservation_cost",
        "invoice_reference_id",
        "credit",
        "credit_reference_id",
        "home_charging_compensation",
    ),
    id=TEXT_36,
    stop_date_time=(v221.DateTime, REQUIRED),
    tariffs=(list[Tariff], many()),  # type: ignore[valid-type]
    total_cost=(Decimal, REQUIRED),
    **{**DRIVER_AND_PLACE, "charging_periods": (list[ChargingPeriod], Field(min_length=1))},  # type: ignore[valid-type]
)

# --- commands ---------------------------------------------------------------------------------


# Both the CPO's answer to a command and the result it posts to `response_url` later.
CommandResponse = derived(
    v221.CommandResponse,
    "CommandResponse",
    drop=("timeout",),
    result=(CommandResponseType, REQUIRED),
)


StartSession = derived(
    v221.StartSession,
    "StartSession",
    drop=("connector_id", "authorization_reference"),
    token=(Token, REQUIRED),
    location_id=(String39, REQUIRED),
    evse_uid=(String39 | None, None),
)
