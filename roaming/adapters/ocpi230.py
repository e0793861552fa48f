"""The OCPI 2.3.0 adapter: 2.2.1's, reading 2.3.0's wire models (`roaming.ocpi.v230.schemas`):
money as `before_taxes` plus taxes, tariffs with `tax_included` and price limits, open enums,
the new location fields (kept by the models, not by the catalogue), and a hub that names itself
in `hub_party_id` rather than by a HUB role."""

from types import ModuleType
from typing import Any, ClassVar

from locator.catalogue import TariffRecord
from roaming.adapters.base import ChargeRecord, PartyRole, SessionChange, SessionReport
from roaming.adapters.ocpi221 import Ocpi221Adapter
from roaming.ocpi.v221 import cdrs, sessions
from roaming.ocpi.v221.reading import validated
from roaming.ocpi.v230 import money
from roaming.ocpi.v230 import schemas as v230


class Ocpi230Adapter(Ocpi221Adapter):
    wire: ClassVar[ModuleType] = v230
    token_types: ClassVar[frozenset[str]] = v230.TOKEN_TYPES

    @classmethod
    def party_roles(cls, credentials: Any) -> tuple[PartyRole, ...]:
        """2.3.0 dropped the HUB role: a hub lists the parties behind it and names itself in
        `hub_party_id`, kept as its HUB role (what routing addresses a GET for everything to,
        as in 2.2.1)."""
        roles = super().party_roles(credentials)
        hub = credentials.hub_party_id
        if not hub or any(role.role == "HUB" for role in roles):
            return roles
        itself = PartyRole(
            role="HUB", country_code=hub[:2].upper(), party_id=hub[2:].upper(), business_name=""
        )
        return (*roles, itself)

    def tariff_parse(self, payload: Any) -> TariffRecord:
        return money.tariff_record(validated(v230.Tariff, payload, what="tariff"))

    def tariff_render(self, tariff: TariffRecord) -> dict[str, Any]:
        return money.tariff_wire(tariff)

    def cdr_parse(self, payload: Any) -> ChargeRecord:
        return cdrs.cdr_record(payload, model=v230.CDR, cost=money.cost, tariff=money.tariff_record)

    def session_parse(self, payload: Any) -> SessionReport:
        return sessions.session_parse(payload, model=v230.Session, price=money.price)

    def session_patch_parse(self, payload: Any) -> SessionChange:
        return sessions.session_patch_parse(payload, model=v230.SessionPatch, price=money.price)
