"""Our OCPI 2.2.1 sessions receiver: partners PUT and PATCH the Sessions of our drivers.

`/ocpi/<version>/sessions/{country_code}/{party_id}/{session_id}`. Only the partner that owns
country_code/party_id may write there (checked by `ocpi_endpoint`), and only Sessions of tokens
we issued; the URL's ids must be the body's. PUT replaces the Session, PATCH merges it and
appends its charging periods; either, older than what we hold (`last_updated`), is
acknowledged and ignored. Each accepted push moves our session (see `session_report_apply`).
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from roaming.adapters import adapter_for
from roaming.errors import PartnerError
from roaming.models import ChargingSession, CommandType, Partner, SessionState
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.transport import OcpiStatus, ocpi_response, ocpi_timestamp
from roaming.receivers.catalogue import body_json, ids_match, refusal, written
from roaming.services.sessions import session_change_apply, session_report_apply

OCPI_STATUS: dict[str, str] = {
    SessionState.COMPLETED: "COMPLETED",
    SessionState.ACTIVE: "ACTIVE",
    SessionState.STOPPING: "ACTIVE",
    SessionState.REQUESTED: "PENDING",
    SessionState.ACCEPTED: "PENDING",
}


def session_wire(session: ChargingSession) -> dict[str, Any]:
    """Our copy of a partner's Session in OCPI 2.2.1 shape (the fields we keep)."""
    data: dict[str, Any] = {
        "country_code": session.country_code,
        "party_id": session.party_id,
        "id": session.ocpi_session_id,
        "start_date_time": ocpi_timestamp(session.started_at or session.created_at),
        "kwh": float(session.kwh),
        "cdr_token": {
            "country_code": settings.OCPI_COUNTRY_CODE,
            "party_id": settings.OCPI_PARTY_ID,
            "uid": session.token.uid,
            "type": "APP_USER",
            "contract_id": session.token.contract_id,
        },
        "auth_method": "COMMAND"
        if session.commands.filter(type=CommandType.START_SESSION).exists()
        else "AUTH_REQUEST",
        "authorization_reference": session.authorization_reference,
        "location_id": session.location_ocpi_id,
        "evse_uid": session.evse_uid,
        "connector_id": session.connector_id,
        "currency": session.currency,
        "charging_periods": [
            {
                "start_date_time": period["start"],
                "dimensions": [
                    {"type": name, "volume": float(Decimal(volume))}
                    for name, volume in period["dimensions"].items()
                ],
                **({"tariff_id": period["tariff_id"]} if period.get("tariff_id") else {}),
            }
            for period in session.charging_periods
        ],
        "status": OCPI_STATUS.get(session.state, "INVALID"),
        "last_updated": ocpi_timestamp(session.last_updated or session.updated_at),
    }
    if session.ended_at:
        data["end_date_time"] = ocpi_timestamp(session.ended_at)
    return data


@require_http_methods(["GET", "PUT", "PATCH"])
@ocpi_endpoint("sessions")
def sessions(
    request: HttpRequest,
    version: str,
    country_code: str,
    party_id: str,
    session_id: str,
    *,
    partner: Partner,
) -> HttpResponse:
    if request.method == "GET":
        session = (
            ChargingSession.objects.filter(
                partner=partner,
                country_code=country_code.upper(),
                party_id=party_id.upper(),
                ocpi_session_id=session_id,
            )
            .select_related("token")
            .first()
        )
        if session is None:
            return refusal(OcpiStatus.CLIENT_ERROR, f"Unknown session {session_id}")
        return ocpi_response(session_wire(session))
    try:
        body = body_json(request)
        ids_match(body, {"country_code": country_code, "party_id": party_id, "id": session_id})
        adapter = adapter_for(partner)
        if request.method == "PUT":
            applied = session_report_apply(partner=partner, report=adapter.session_parse(body))
        else:
            applied = session_change_apply(
                partner=partner,
                country_code=country_code,
                party_id=party_id,
                session_id=session_id,
                change=adapter.session_patch_parse(body),
            )
    except PartnerError as error:
        return refusal(error.ocpi_status, error.message)
    return written(applied)
