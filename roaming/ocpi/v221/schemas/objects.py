"""OCPI 2.2.1 shared objects (display text, price, image, energy mix), versions, credentials."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import (
    Field,
)

from roaming.ocpi.v221.schemas.enums import (
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    ImageCategory,
    InterfaceRole,
    Role,
    VersionNumber,
)
from roaming.ocpi.v221.schemas.types import (
    CiString4,
    CountryCode,
    CredentialsTokenText,
    Language,
    Latitude,
    Longitude,
    OcpiModel,
    PartyId,
    String64,
    String100,
    String512,
    Url,
)

# --- shared objects ---------------------------------------------------------------------------


class DisplayText(OcpiModel):
    language: Language
    text: String512


class Price(OcpiModel):
    excl_vat: Decimal
    incl_vat: Decimal | None = None


class Image(OcpiModel):
    url: Url
    thumbnail: Url | None = None
    category: ImageCategory
    type: CiString4
    width: Annotated[int, Field(ge=0, le=99999)] | None = None
    height: Annotated[int, Field(ge=0, le=99999)] | None = None


class BusinessDetails(OcpiModel):
    name: String100
    website: Url | None = None
    logo: Image | None = None


class GeoLocation(OcpiModel):
    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(GeoLocation):
    name: DisplayText | None = None


class EnergySource(OcpiModel):
    source: EnergySourceCategory
    percentage: Annotated[Decimal, Field(ge=0, le=100)]


class EnvironmentalImpact(OcpiModel):
    category: EnvironmentalImpactCategory
    amount: Decimal


class EnergyMix(OcpiModel):
    is_green_energy: bool
    energy_sources: list[EnergySource] = Field(default_factory=list)
    environ_impact: list[EnvironmentalImpact] = Field(default_factory=list)
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


# --- versions and credentials -----------------------------------------------------------------


class Version(OcpiModel):
    version: VersionNumber
    url: Url


class Endpoint(OcpiModel):
    identifier: String64  # a ModuleID, or a custom module such as "nltnm-tokens"
    role: InterfaceRole
    url: Url


class VersionDetails(OcpiModel):
    version: VersionNumber
    endpoints: Annotated[list[Endpoint], Field(min_length=1)]


class CredentialsRole(OcpiModel):
    role: Role
    business_details: BusinessDetails
    party_id: PartyId
    country_code: CountryCode


class Credentials(OcpiModel):
    token: CredentialsTokenText
    url: Url
    roles: Annotated[list[CredentialsRole], Field(min_length=1)]
