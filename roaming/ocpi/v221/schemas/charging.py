"""OCPI 2.2.1 charging objects: Tokens, Sessions, CDRs and Commands."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    Field,
    StringConstraints,
)

from roaming.ocpi.v221.schemas.enums import (
    AllowedType,
    AuthMethod,
    CdrDimensionType,
    CommandResponseType,
    CommandResultType,
    CommandType,
    ConnectorFormat,
    ConnectorType,
    PowerType,
    ProfileType,
    SessionStatus,
    Status,
    TokenType,
    WhitelistType,
)
from roaming.ocpi.v221.schemas.locations import Tariff
from roaming.ocpi.v221.schemas.objects import DisplayText, GeoLocation, Price
from roaming.ocpi.v221.schemas.types import (
    CiString32,
    CiString36,
    CiString39,
    CiString48,
    CiString64,
    CountryCode,
    Currency,
    DateTime,
    Language,
    OcpiModel,
    PartyId,
    String10,
    String45,
    String64,
    String255,
    String512,
    String5000,
    Url,
)

# --- tokens -----------------------------------------------------------------------------------


class EnergyContract(OcpiModel):
    supplier_name: String64
    contract_id: CiString64 | None = None


class Token(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    uid: CiString36
    type: TokenType
    contract_id: CiString36
    visual_number: String64 | None = None
    issuer: String64
    group_id: CiString36 | None = None
    valid: bool
    whitelist: WhitelistType
    language: Language | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class LocationReferences(OcpiModel):
    """The body of a real-time authorization request (`POST {tokens}/{uid}/authorize`)."""

    location_id: CiString36
    evse_uids: list[CiString36] = Field(default_factory=list)


class AuthorizationInfo(OcpiModel):
    """The eMSP's answer to a real-time authorization request."""

    allowed: AllowedType
    token: Token
    location: LocationReferences | None = None
    authorization_reference: CiString36 | None = None
    info: DisplayText | None = None


class CdrToken(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    uid: CiString36
    type: TokenType
    contract_id: CiString36


# --- sessions and CDRs ------------------------------------------------------------------------


class CdrDimension(OcpiModel):
    type: CdrDimensionType
    volume: Decimal


class ChargingPeriod(OcpiModel):
    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension], Field(min_length=1)]
    tariff_id: CiString36 | None = None


class Session(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Decimal
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36
    meter_id: String255 | None = None
    currency: Currency
    charging_periods: list[ChargingPeriod] = Field(default_factory=list)
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: DateTime


class SessionPatch(OcpiModel):
    """A whole-Session PATCH: any Session field, but `last_updated` is required."""

    kwh: Decimal | None = None
    end_date_time: DateTime | None = None
    charging_periods: list[ChargingPeriod] = Field(default_factory=list)
    total_cost: Price | None = None
    status: SessionStatus | None = None
    last_updated: DateTime


class EvsePatch(OcpiModel):
    """An EVSE PATCH as sent for a status change: `last_updated` is required."""

    status: Status | None = None
    last_updated: DateTime


class ChargingPreferencesResponse(StrEnum):
    ACCEPTED = "ACCEPTED"
    DEPARTURE_REQUIRED = "DEPARTURE_REQUIRED"
    ENERGY_NEED_REQUIRED = "ENERGY_NEED_REQUIRED"
    NOT_POSSIBLE = "NOT_POSSIBLE"
    PROFILE_TYPE_NOT_SUPPORTED = "PROFILE_TYPE_NOT_SUPPORTED"


class ChargingPreferences(OcpiModel):
    profile_type: ProfileType
    departure_time: DateTime | None = None
    energy_need: Decimal | None = None
    discharge_allowed: bool | None = None


class CdrLocation(OcpiModel):
    id: CiString36
    name: String255 | None = None
    address: String255
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None
    country: Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
    coordinates: GeoLocation
    evse_uid: CiString36
    evse_id: CiString48
    connector_id: CiString36
    connector_standard: ConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType


class SignedValue(OcpiModel):
    nature: CiString32
    plain_data: String512
    signed_data: String5000


class SignedData(OcpiModel):
    encoding_method: CiString36
    encoding_method_version: int | None = None
    public_key: String512 | None = None
    signed_values: Annotated[list[SignedValue], Field(min_length=1)]
    url: String512 | None = None


class CDR(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString39
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: CiString36 | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    cdr_location: CdrLocation
    meter_id: String255 | None = None
    currency: Currency
    tariffs: list[Tariff] = Field(default_factory=list)
    charging_periods: Annotated[list[ChargingPeriod], Field(min_length=1)]
    signed_data: SignedData | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Decimal
    total_energy_cost: Price | None = None
    total_time: Decimal
    total_time_cost: Price | None = None
    total_parking_time: Decimal | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: String255 | None = None
    invoice_reference_id: CiString39 | None = None
    credit: bool | None = None
    credit_reference_id: CiString39 | None = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime


# --- commands ---------------------------------------------------------------------------------


class CommandResponse(OcpiModel):
    result: CommandResponseType
    timeout: Annotated[int, Field(ge=0)]
    message: list[DisplayText] = Field(default_factory=list)


class CommandResult(OcpiModel):
    result: CommandResultType
    message: list[DisplayText] = Field(default_factory=list)


class StartSession(OcpiModel):
    response_url: Url
    token: Token
    location_id: CiString36
    evse_uid: CiString36 | None = None
    connector_id: CiString36 | None = None
    authorization_reference: CiString36 | None = None


class StopSession(OcpiModel):
    response_url: Url
    session_id: CiString36


class ReserveNow(OcpiModel):
    response_url: Url
    token: Token
    expiry_date: DateTime
    reservation_id: CiString36
    location_id: CiString36
    evse_uid: CiString36 | None = None
    authorization_reference: CiString36 | None = None


class CancelReservation(OcpiModel):
    response_url: Url
    reservation_id: CiString36


class UnlockConnector(OcpiModel):
    response_url: Url
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36


COMMAND_BODIES: dict[CommandType, type[OcpiModel]] = {
    CommandType.START_SESSION: StartSession,
    CommandType.STOP_SESSION: StopSession,
    CommandType.RESERVE_NOW: ReserveNow,
    CommandType.CANCEL_RESERVATION: CancelReservation,
    CommandType.UNLOCK_CONNECTOR: UnlockConnector,
}
