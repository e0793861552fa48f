"""OCPI 2.2.1 Locations (location, EVSE, connector, hours) and Tariffs."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import (
    Field,
    StringConstraints,
)

from roaming.ocpi.v221.schemas.enums import (
    Capability,
    ConnectorFormat,
    ConnectorType,
    DayOfWeek,
    Facility,
    ParkingRestriction,
    ParkingType,
    PowerType,
    ReservationRestrictionType,
    Status,
    TariffDimensionType,
    TariffType,
    TokenType,
)
from roaming.ocpi.v221.schemas.objects import (
    AdditionalGeoLocation,
    BusinessDetails,
    DisplayText,
    EnergyMix,
    GeoLocation,
    Image,
    Price,
)
from roaming.ocpi.v221.schemas.types import (
    CiString36,
    CiString48,
    CountryCode,
    Currency,
    DateOnly,
    DateTime,
    OcpiModel,
    PartyId,
    String4,
    String10,
    String16,
    String45,
    String64,
    String255,
    Time24,
    Url,
)

# --- locations --------------------------------------------------------------------------------


class RegularHours(OcpiModel):
    weekday: Annotated[int, Field(ge=1, le=7)]
    period_begin: Time24
    period_end: Time24


class ExceptionalPeriod(OcpiModel):
    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiModel):
    twentyfourseven: bool
    regular_hours: list[RegularHours] = Field(default_factory=list)
    exceptional_openings: list[ExceptionalPeriod] = Field(default_factory=list)
    exceptional_closings: list[ExceptionalPeriod] = Field(default_factory=list)


class PublishTokenType(OcpiModel):
    uid: CiString36 | None = None
    type: TokenType | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None


class StatusSchedule(OcpiModel):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class Connector(OcpiModel):
    id: CiString36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: Annotated[int, Field(ge=0)]
    max_amperage: Annotated[int, Field(ge=0)]
    max_electric_power: Annotated[int, Field(ge=0)] | None = None
    tariff_ids: list[CiString36] = Field(default_factory=list)
    terms_and_conditions: Url | None = None
    last_updated: DateTime


class EVSE(OcpiModel):
    uid: CiString36
    evse_id: CiString48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] = Field(default_factory=list)
    capabilities: list[Capability] = Field(default_factory=list)
    connectors: Annotated[list[Connector], Field(min_length=1)]
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] = Field(default_factory=list)
    parking_restrictions: list[ParkingRestriction] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    last_updated: DateTime


class Location(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    publish: bool
    publish_allowed_to: list[PublishTokenType] = Field(default_factory=list)
    name: String255 | None = None
    address: String255  # 45 in the 2.2.1 text; 255 per the release-2.2.1-bugfixes erratum
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None  # 20 in the text; 45 per the erratum
    country: Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] = Field(default_factory=list)
    parking_type: ParkingType | None = None
    evses: list[EVSE] = Field(default_factory=list)
    directions: list[DisplayText] = Field(default_factory=list)
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] = Field(default_factory=list)
    time_zone: String255
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] = Field(default_factory=list)
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


# --- tariffs ----------------------------------------------------------------------------------


class PriceComponent(OcpiModel):
    type: TariffDimensionType
    price: Decimal
    vat: Decimal | None = None
    step_size: Annotated[int, Field(ge=0)]


class TariffRestrictions(OcpiModel):
    start_time: Time24 | None = None
    end_time: Time24 | None = None
    start_date: DateOnly | None = None
    end_date: DateOnly | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: Annotated[int, Field(ge=0)] | None = None
    max_duration: Annotated[int, Field(ge=0)] | None = None
    day_of_week: list[DayOfWeek] = Field(default_factory=list)
    reservation: ReservationRestrictionType | None = None


class TariffElement(OcpiModel):
    price_components: Annotated[list[PriceComponent], Field(min_length=1)]
    restrictions: TariffRestrictions | None = None


class Tariff(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    currency: Currency
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] = Field(default_factory=list)
    tariff_alt_url: Url | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: Annotated[list[TariffElement], Field(min_length=1)]
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime
