"""The OCPI 2.3.0 adapter: 2.2.1's, reading 2.3.0's wire models (`roaming.ocpi.v230.schemas`):
money as `before_taxes` plus taxes, tariffs with `tax_included` and price limits, open enums,
and the new location fields (kept by the models, not by the catalogue)."""

from types import ModuleType
from typing import Any, ClassVar

from locator.catalogue import TariffRecord
from roaming.adapters.base import ChargeRecord, SessionChange, SessionReport
from roaming.adapters.ocpi221 import Ocpi221Adapter
from roaming.ocpi.v221 import cdrs, sessions
from roaming.ocpi.v221.reading import validated
from roaming.ocpi.v230 import money
from roaming.ocpi.v230 import schemas as v230


class Ocpi230Adapter(Ocpi221Adapter):
    wire: ClassVar[ModuleType] = v230
    token_types: ClassVar[frozenset[str]] = v230.TOKEN_TYPES

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
