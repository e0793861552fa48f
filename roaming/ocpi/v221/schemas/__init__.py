"""OCPI 2.2.1 wire schemas as pydantic v2 models.

Faithful to the spec text (`ocpi/ocpi` tag v2.2.1-d2, with the `release-2.2.1-bugfixes` errata
where noted): required fields are required, enums are closed, `CiString(n)` and `string(n)` carry
their length limits, coordinates are strings matching the spec's regex, and DateTimes must be
RFC 3339 in UTC (`Z`, or no designator, which the spec also calls UTC). A DateTime with an offset
such as `+00:00` is rejected: the spec says it "is not the same as UTC".

Unknown fields are kept, not rejected (OCPI 2.3.0 makes that a rule and real 2.2.1 peers send
vendor extensions). `unknown_fields()` lists them, so a strict check (our own payload tests) or a
log line (inbound traffic) can still see them.

Usage:
    location = Location.model_validate(payload)   # raises pydantic.ValidationError
    assert unknown_fields(location) == []
"""

from roaming.ocpi.v221.schemas.charging import (
    CDR as CDR,
)
from roaming.ocpi.v221.schemas.charging import (
    COMMAND_BODIES as COMMAND_BODIES,
)
from roaming.ocpi.v221.schemas.charging import (
    AuthorizationInfo as AuthorizationInfo,
)
from roaming.ocpi.v221.schemas.charging import (
    CancelReservation as CancelReservation,
)
from roaming.ocpi.v221.schemas.charging import (
    CdrDimension as CdrDimension,
)
from roaming.ocpi.v221.schemas.charging import (
    CdrLocation as CdrLocation,
)
from roaming.ocpi.v221.schemas.charging import (
    CdrToken as CdrToken,
)
from roaming.ocpi.v221.schemas.charging import (
    ChargingPeriod as ChargingPeriod,
)
from roaming.ocpi.v221.schemas.charging import (
    ChargingPreferences as ChargingPreferences,
)
from roaming.ocpi.v221.schemas.charging import (
    ChargingPreferencesResponse as ChargingPreferencesResponse,
)
from roaming.ocpi.v221.schemas.charging import (
    CommandResponse as CommandResponse,
)
from roaming.ocpi.v221.schemas.charging import (
    CommandResult as CommandResult,
)
from roaming.ocpi.v221.schemas.charging import (
    EnergyContract as EnergyContract,
)
from roaming.ocpi.v221.schemas.charging import (
    EvsePatch as EvsePatch,
)
from roaming.ocpi.v221.schemas.charging import (
    LocationReferences as LocationReferences,
)
from roaming.ocpi.v221.schemas.charging import (
    ReserveNow as ReserveNow,
)
from roaming.ocpi.v221.schemas.charging import (
    Session as Session,
)
from roaming.ocpi.v221.schemas.charging import (
    SessionPatch as SessionPatch,
)
from roaming.ocpi.v221.schemas.charging import (
    SignedData as SignedData,
)
from roaming.ocpi.v221.schemas.charging import (
    SignedValue as SignedValue,
)
from roaming.ocpi.v221.schemas.charging import (
    StartSession as StartSession,
)
from roaming.ocpi.v221.schemas.charging import (
    StopSession as StopSession,
)
from roaming.ocpi.v221.schemas.charging import (
    Token as Token,
)
from roaming.ocpi.v221.schemas.charging import (
    UnlockConnector as UnlockConnector,
)
from roaming.ocpi.v221.schemas.enums import (
    CDR_FORBIDDEN_DIMENSIONS as CDR_FORBIDDEN_DIMENSIONS,
)
from roaming.ocpi.v221.schemas.enums import (
    AllowedType as AllowedType,
)
from roaming.ocpi.v221.schemas.enums import (
    AuthMethod as AuthMethod,
)
from roaming.ocpi.v221.schemas.enums import (
    Capability as Capability,
)
from roaming.ocpi.v221.schemas.enums import (
    CdrDimensionType as CdrDimensionType,
)
from roaming.ocpi.v221.schemas.enums import (
    CommandResponseType as CommandResponseType,
)
from roaming.ocpi.v221.schemas.enums import (
    CommandResultType as CommandResultType,
)
from roaming.ocpi.v221.schemas.enums import (
    CommandType as CommandType,
)
from roaming.ocpi.v221.schemas.enums import (
    ConnectorFormat as ConnectorFormat,
)
from roaming.ocpi.v221.schemas.enums import (
    ConnectorType as ConnectorType,
)
from roaming.ocpi.v221.schemas.enums import (
    DayOfWeek as DayOfWeek,
)
from roaming.ocpi.v221.schemas.enums import (
    EnergySourceCategory as EnergySourceCategory,
)
from roaming.ocpi.v221.schemas.enums import (
    EnvironmentalImpactCategory as EnvironmentalImpactCategory,
)
from roaming.ocpi.v221.schemas.enums import (
    Facility as Facility,
)
from roaming.ocpi.v221.schemas.enums import (
    ImageCategory as ImageCategory,
)
from roaming.ocpi.v221.schemas.enums import (
    InterfaceRole as InterfaceRole,
)
from roaming.ocpi.v221.schemas.enums import (
    ModuleID as ModuleID,
)
from roaming.ocpi.v221.schemas.enums import (
    ParkingRestriction as ParkingRestriction,
)
from roaming.ocpi.v221.schemas.enums import (
    ParkingType as ParkingType,
)
from roaming.ocpi.v221.schemas.enums import (
    PowerType as PowerType,
)
from roaming.ocpi.v221.schemas.enums import (
    ProfileType as ProfileType,
)
from roaming.ocpi.v221.schemas.enums import (
    ReservationRestrictionType as ReservationRestrictionType,
)
from roaming.ocpi.v221.schemas.enums import (
    Role as Role,
)
from roaming.ocpi.v221.schemas.enums import (
    SessionStatus as SessionStatus,
)
from roaming.ocpi.v221.schemas.enums import (
    Status as Status,
)
from roaming.ocpi.v221.schemas.enums import (
    TariffDimensionType as TariffDimensionType,
)
from roaming.ocpi.v221.schemas.enums import (
    TariffType as TariffType,
)
from roaming.ocpi.v221.schemas.enums import (
    TokenType as TokenType,
)
from roaming.ocpi.v221.schemas.enums import (
    VersionNumber as VersionNumber,
)
from roaming.ocpi.v221.schemas.enums import (
    WhitelistType as WhitelistType,
)
from roaming.ocpi.v221.schemas.locations import (
    EVSE as EVSE,
)
from roaming.ocpi.v221.schemas.locations import (
    Connector as Connector,
)
from roaming.ocpi.v221.schemas.locations import (
    ExceptionalPeriod as ExceptionalPeriod,
)
from roaming.ocpi.v221.schemas.locations import (
    Hours as Hours,
)
from roaming.ocpi.v221.schemas.locations import (
    Location as Location,
)
from roaming.ocpi.v221.schemas.locations import (
    PriceComponent as PriceComponent,
)
from roaming.ocpi.v221.schemas.locations import (
    PublishTokenType as PublishTokenType,
)
from roaming.ocpi.v221.schemas.locations import (
    RegularHours as RegularHours,
)
from roaming.ocpi.v221.schemas.locations import (
    StatusSchedule as StatusSchedule,
)
from roaming.ocpi.v221.schemas.locations import (
    Tariff as Tariff,
)
from roaming.ocpi.v221.schemas.locations import (
    TariffElement as TariffElement,
)
from roaming.ocpi.v221.schemas.locations import (
    TariffRestrictions as TariffRestrictions,
)
from roaming.ocpi.v221.schemas.objects import (
    AdditionalGeoLocation as AdditionalGeoLocation,
)
from roaming.ocpi.v221.schemas.objects import (
    BusinessDetails as BusinessDetails,
)
from roaming.ocpi.v221.schemas.objects import (
    Credentials as Credentials,
)
from roaming.ocpi.v221.schemas.objects import (
    CredentialsRole as CredentialsRole,
)
from roaming.ocpi.v221.schemas.objects import (
    DisplayText as DisplayText,
)
from roaming.ocpi.v221.schemas.objects import (
    Endpoint as Endpoint,
)
from roaming.ocpi.v221.schemas.objects import (
    EnergyMix as EnergyMix,
)
from roaming.ocpi.v221.schemas.objects import (
    EnergySource as EnergySource,
)
from roaming.ocpi.v221.schemas.objects import (
    EnvironmentalImpact as EnvironmentalImpact,
)
from roaming.ocpi.v221.schemas.objects import (
    GeoLocation as GeoLocation,
)
from roaming.ocpi.v221.schemas.objects import (
    Image as Image,
)
from roaming.ocpi.v221.schemas.objects import (
    Price as Price,
)
from roaming.ocpi.v221.schemas.objects import (
    Version as Version,
)
from roaming.ocpi.v221.schemas.objects import (
    VersionDetails as VersionDetails,
)
from roaming.ocpi.v221.schemas.types import (
    _DATETIME_PATTERN as _DATETIME_PATTERN,
)
from roaming.ocpi.v221.schemas.types import (
    _PRINTABLE_ASCII as _PRINTABLE_ASCII,
)
from roaming.ocpi.v221.schemas.types import (
    NUL_MESSAGE as NUL_MESSAGE,
)
from roaming.ocpi.v221.schemas.types import (
    WITHOUT_NUL as WITHOUT_NUL,
)
from roaming.ocpi.v221.schemas.types import (
    CiString4 as CiString4,
)
from roaming.ocpi.v221.schemas.types import (
    CiString32 as CiString32,
)
from roaming.ocpi.v221.schemas.types import (
    CiString36 as CiString36,
)
from roaming.ocpi.v221.schemas.types import (
    CiString39 as CiString39,
)
from roaming.ocpi.v221.schemas.types import (
    CiString48 as CiString48,
)
from roaming.ocpi.v221.schemas.types import (
    CiString64 as CiString64,
)
from roaming.ocpi.v221.schemas.types import (
    CountryCode as CountryCode,
)
from roaming.ocpi.v221.schemas.types import (
    CredentialsTokenText as CredentialsTokenText,
)
from roaming.ocpi.v221.schemas.types import (
    Currency as Currency,
)
from roaming.ocpi.v221.schemas.types import (
    DataT as DataT,
)
from roaming.ocpi.v221.schemas.types import (
    DateOnly as DateOnly,
)
from roaming.ocpi.v221.schemas.types import (
    DateTime as DateTime,
)
from roaming.ocpi.v221.schemas.types import (
    Language as Language,
)
from roaming.ocpi.v221.schemas.types import (
    Latitude as Latitude,
)
from roaming.ocpi.v221.schemas.types import (
    Longitude as Longitude,
)
from roaming.ocpi.v221.schemas.types import (
    OcpiModel as OcpiModel,
)
from roaming.ocpi.v221.schemas.types import (
    OcpiResponse as OcpiResponse,
)
from roaming.ocpi.v221.schemas.types import (
    PartyId as PartyId,
)
from roaming.ocpi.v221.schemas.types import (
    String4 as String4,
)
from roaming.ocpi.v221.schemas.types import (
    String10 as String10,
)
from roaming.ocpi.v221.schemas.types import (
    String16 as String16,
)
from roaming.ocpi.v221.schemas.types import (
    String45 as String45,
)
from roaming.ocpi.v221.schemas.types import (
    String64 as String64,
)
from roaming.ocpi.v221.schemas.types import (
    String100 as String100,
)
from roaming.ocpi.v221.schemas.types import (
    String255 as String255,
)
from roaming.ocpi.v221.schemas.types import (
    String512 as String512,
)
from roaming.ocpi.v221.schemas.types import (
    String5000 as String5000,
)
from roaming.ocpi.v221.schemas.types import (
    Time24 as Time24,
)
from roaming.ocpi.v221.schemas.types import (
    Url as Url,
)
from roaming.ocpi.v221.schemas.types import (
    _as_utc as _as_utc,
)
from roaming.ocpi.v221.schemas.types import (
    _degrees_within as _degrees_within,
)
from roaming.ocpi.v221.schemas.types import (
    _nul_path as _nul_path,
)
from roaming.ocpi.v221.schemas.types import (
    _utc_datetime_text as _utc_datetime_text,
)
from roaming.ocpi.v221.schemas.types import (
    _without_nul as _without_nul,
)
from roaming.ocpi.v221.schemas.types import (
    unknown_fields as unknown_fields,
)
