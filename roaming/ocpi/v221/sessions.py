"""OCPI 2.2.1 Sessions (mod_sessions), eMSP side: a pushed Session in our neutral terms.

The partner PUTs the whole Session and PATCHes it as it goes; a PATCH's `charging_periods` are
new periods to append. `total_cost` is read incl. VAT when the partner gives it, else excl. VAT
(the running cost is only shown to the driver; the CDR is what is billed).
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from roaming.adapters.base import PeriodReport, SessionChange, SessionReport, SessionStatus
from roaming.ocpi.v221 import schemas
from roaming.ocpi.v221.reading import validated

STATUSES = {
    schemas.SessionStatus.PENDING: SessionStatus.PENDING,
    schemas.SessionStatus.ACTIVE: SessionStatus.ACTIVE,
    schemas.SessionStatus.COMPLETED: SessionStatus.COMPLETED,
    schemas.SessionStatus.INVALID: SessionStatus.INVALID,
    schemas.SessionStatus.RESERVATION: SessionStatus.RESERVATION,
}


def period_report(period: schemas.ChargingPeriod) -> PeriodReport:
    return PeriodReport(
        start=period.start_date_time,
        dimensions={str(d.type): d.volume for d in period.dimensions},
        tariff_id=period.tariff_id or "",
    )


PriceReader = Callable[[Any], Decimal | None]


def price(total: schemas.Price | None) -> Decimal | None:
    if total is None:
        return None
    return total.incl_vat if total.incl_vat is not None else total.excl_vat


def session_parse(
    payload: Any, *, model: type[schemas.Session] = schemas.Session, price: PriceReader = price
) -> SessionReport:
    """A whole Session (PUT); a later version passes its own model and money reader."""
    session: schemas.Session = validated(model, payload, what="session")
    token = session.cdr_token
    return SessionReport(
        country_code=session.country_code.upper(),
        party_id=session.party_id.upper(),
        session_id=session.id,
        status=STATUSES[session.status],
        started_at=session.start_date_time,
        ended_at=session.end_date_time,
        kwh=session.kwh,
        token_country_code=token.country_code.upper(),
        token_party_id=token.party_id.upper(),
        token_uid=token.uid,
        authorization_reference=session.authorization_reference or "",
        started_by_command=session.auth_method == schemas.AuthMethod.COMMAND,
        location_id=session.location_id,
        evse_uid=session.evse_uid,
        connector_id=session.connector_id,
        currency=session.currency,
        periods=tuple(period_report(period) for period in session.charging_periods),
        cost=price(session.total_cost),
        last_updated=session.last_updated,
    )


def session_patch_parse(
    payload: Any,
    *,
    model: type[schemas.SessionPatch] = schemas.SessionPatch,
    price: PriceReader = price,
) -> SessionChange:
    """A whole-Session PATCH (`last_updated` required)."""
    patch: schemas.SessionPatch = validated(model, payload, what="session PATCH")
    return SessionChange(
        last_updated=patch.last_updated,
        status=STATUSES[patch.status] if patch.status is not None else None,
        kwh=patch.kwh,
        ended_at=patch.end_date_time,
        cost=price(patch.total_cost),
        periods=tuple(period_report(period) for period in patch.charging_periods),
    )
