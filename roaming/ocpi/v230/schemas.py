"""OCPI 2.3.0 wire schemas: 2.2.1's, with the changes of the 2.3.0 changelog.

- Money: `Price{before_taxes, taxes*}` on Sessions and CDRs; a Tariff's `min_price`/`max_price`
  are `PriceLimit{before_taxes, after_taxes?}`, and a Tariff says whether its prices include
  taxes (`tax_included`, required).
- Open enums: connector standards, formats, power types, capabilities, facilities, parking
  types and restrictions, token types are kept whatever their value (new ones such as `MCS`,
  `SAE_J3400`, `EMAID` included), as 2.3.0 asks receivers to do.
- Locations: `parking_places`, `help_phone`; EVSE `parking`, `accepted_service_providers`;
  Connector `capabilities`. Credentials: `hub_party_id`.

Objects whose shape did not change are imported from `roaming.ocpi.v221.schemas`. A 2.3.0
model subclasses its 2.2.1 counterpart; where a field's type changes, mypy is told that the
override is meant (`type: ignore[assignment]`): pydantic validates against the subclass's type.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from roaming.ocpi.v221 import schemas as v221
from roaming.ocpi.v221.schemas import (
    CiString36,
    OcpiModel,
    String64,
    String100,
)

# An OpenEnum: the spec's values, and any other a newer peer sends (kept, never refused).
OpenEnum = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class TaxIncluded(StrEnum):
    YES = "YES"
    NO = "NO"
    NOT_APPLICABLE = "N/A"


class TaxAmount(OcpiModel):
    """One tax on a Price (VAT, a state sales tax, ...), as an amount of money."""

    name: String100
    amount: Decimal
    account_number: String64 | None = None
    percentage: Annotated[Decimal, Field(ge=0, le=100)] | None = None


class Price(OcpiModel):
    """2.3.0's Price: the amount before taxes and each tax on top (2.2.1: excl/incl VAT)."""

    before_taxes: Decimal
    taxes: list[TaxAmount] = Field(default_factory=list)


class PriceLimit(OcpiModel):
    """A tariff's minimum or maximum price; `after_taxes` only where the CPO knows it."""

    before_taxes: Decimal
    after_taxes: Decimal | None = None


class Version(v221.Version):
    """A version in a versions list: any version name is read (a peer lists versions we do
    not speak, and older or newer ones than 2.2.1's enum knows)."""

    version: OpenEnum  # type: ignore[assignment]


class VersionDetails(v221.VersionDetails):
    version: OpenEnum  # type: ignore[assignment]


class CredentialsRole(v221.CredentialsRole):
    role: OpenEnum  # type: ignore[assignment]  # HUB dropped, PTP added


class Credentials(v221.Credentials):
    # A hub names itself: its country code and party id as one string ("NLHUB").
    hub_party_id: Annotated[str, StringConstraints(min_length=5, max_length=5)] | None = None
    roles: Annotated[list[CredentialsRole], Field(min_length=1)]  # type: ignore[assignment]


class Connector(v221.Connector):
    standard: OpenEnum  # type: ignore[assignment]
    format: OpenEnum  # type: ignore[assignment]
    power_type: OpenEnum  # type: ignore[assignment]
    capabilities: list[OpenEnum] = Field(default_factory=list)


class EVSEParking(OcpiModel):
    parking_id: CiString36
    evse_position: OpenEnum | None = None


class EVSE(v221.EVSE):
    status: OpenEnum  # type: ignore[assignment]
    capabilities: list[OpenEnum] = Field(default_factory=list)  # type: ignore[assignment]
    connectors: Annotated[list[Connector], Field(min_length=1)]  # type: ignore[assignment]
    parking_restrictions: list[OpenEnum] = Field(default_factory=list)  # type: ignore[assignment]
    # The spec's EVSEParking objects; its own examples give the parking ids as bare strings.
    parking: list[EVSEParking | CiString36] = Field(default_factory=list)
    accepted_service_providers: list[Any] = Field(default_factory=list)


class Location(v221.Location):
    parking_type: OpenEnum | None = None  # type: ignore[assignment]
    evses: list[EVSE] = Field(default_factory=list)  # type: ignore[assignment]
    facilities: list[OpenEnum] = Field(default_factory=list)  # type: ignore[assignment]
    parking_places: list[dict[str, Any]] = Field(default_factory=list)
    help_phone: Annotated[str, StringConstraints(max_length=25)] | None = None


class Tariff(v221.Tariff):
    type: OpenEnum | None = None  # type: ignore[assignment]
    min_price: PriceLimit | None = None  # type: ignore[assignment]
    max_price: PriceLimit | None = None  # type: ignore[assignment]
    tax_included: TaxIncluded


# The token types 2.3.0 names: 2.2.1's and EMAID (a contract id used as the token).
TOKEN_TYPES = frozenset({*(kind.value for kind in v221.TokenType), "EMAID"})


class Token(v221.Token):
    type: OpenEnum  # type: ignore[assignment]


class CdrToken(v221.CdrToken):
    type: OpenEnum  # type: ignore[assignment]


class Session(v221.Session):
    cdr_token: CdrToken
    total_cost: Price | None = None  # type: ignore[assignment]


class SessionPatch(v221.SessionPatch):
    total_cost: Price | None = None  # type: ignore[assignment]


class CdrLocation(v221.CdrLocation):
    connector_standard: OpenEnum  # type: ignore[assignment]
    connector_format: OpenEnum  # type: ignore[assignment]
    connector_power_type: OpenEnum  # type: ignore[assignment]


class CDR(v221.CDR):
    cdr_token: CdrToken
    cdr_location: CdrLocation
    tariffs: list[Tariff] = Field(default_factory=list)  # type: ignore[assignment]
    total_cost: Price  # type: ignore[assignment]
    total_fixed_cost: Price | None = None  # type: ignore[assignment]
    total_energy_cost: Price | None = None  # type: ignore[assignment]
    total_time_cost: Price | None = None  # type: ignore[assignment]
    total_parking_cost: Price | None = None  # type: ignore[assignment]
    total_reservation_cost: Price | None = None  # type: ignore[assignment]


class StartSession(v221.StartSession):
    token: Token


class AuthorizationInfo(v221.AuthorizationInfo):
    token: Token


class EvsePatch(v221.EvsePatch):
    status: OpenEnum | None = None  # type: ignore[assignment]
