"""OCPI 2.2.1 Tokens (mod_tokens) on our side, the Sender: our drivers' tokens as Token
objects, their push to a partner's tokens Receiver, and the body of a real-time authorization
(LocationReferences in, AuthorizationInfo out).

Our tokens are all APP_USER tokens: the driver starts from the app, so partners never keep a
whitelist of them (`whitelist: NEVER`) and ask us when they must.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson
import pydantic
from django.conf import settings

from roaming.errors import PartnerError
from roaming.http import peer_request
from roaming.models import DriverToken, Partner
from roaming.ocpi.transport import OcpiStatus, envelope_data, ocpi_timestamp
from roaming.ocpi.v221 import schemas


def token_object(token: DriverToken, *, valid: bool | None = None) -> dict[str, Any]:
    """The OCPI Token of a driver token (`valid` as given, else as stored)."""
    return {
        "country_code": settings.OCPI_COUNTRY_CODE,
        "party_id": settings.OCPI_PARTY_ID,
        "uid": token.uid,
        "type": schemas.TokenType.APP_USER.value,
        "contract_id": token.contract_id,
        "issuer": settings.OCPI_BUSINESS_NAME[:64],
        "valid": token.valid if valid is None else valid,
        "whitelist": schemas.WhitelistType.NEVER.value,
        "last_updated": ocpi_timestamp(token.last_updated),
    }


def token_push(
    partner: Partner,
    token: DriverToken,
    *,
    headers: dict[str, str],
    render: Callable[[DriverToken], dict[str, Any]] = token_object,
) -> None:
    """PUT the whole token (as the version renders it) to the partner's tokens receiver:
    `{url}/{our country_code}/{our party_id}/{uid}?type={its type}`."""
    url = partner.endpoint("tokens", "RECEIVER")
    if not url:
        raise PartnerError(f"{partner.name} has no tokens receiver", permanent=True)
    target = "/".join(
        [
            url.rstrip("/"),
            quote(settings.OCPI_COUNTRY_CODE, safe=""),
            quote(settings.OCPI_PARTY_ID, safe=""),
            quote(token.uid, safe=""),
        ]
    )
    body = render(token)
    reply = peer_request(
        "PUT",
        target,
        partner=partner,
        module="tokens",
        token=partner.outbound_token or None,
        raw_token=partner.raw_token_header,
        json=body,
        params={"type": body["type"]},
        headers=headers,
    )
    envelope_data(reply.body, what="token push")


def location_references_parse(body: bytes) -> dict[str, Any] | None:
    """The optional LocationReferences of an authorization request (None without a body).

    Raises PartnerError (2001) naming what is wrong with a body that is not one."""
    if not body.strip():
        return None
    try:
        payload = orjson.loads(body)
        references = schemas.LocationReferences.model_validate(payload)
    except orjson.JSONDecodeError as exc:
        raise PartnerError(
            "The body is not valid JSON", permanent=True, ocpi_status=OcpiStatus.INVALID_PARAMETERS
        ) from exc
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise PartnerError(
            f"The body is not LocationReferences: {where}: {error['msg']}",
            permanent=True,
            ocpi_status=OcpiStatus.INVALID_PARAMETERS,
        ) from exc
    return {"location_id": references.location_id, "evse_uids": list(references.evse_uids)}


def authorization_info(
    token: DriverToken,
    *,
    allowed: str,
    reason: str,
    location: dict[str, Any] | None,
) -> dict[str, Any]:
    """AuthorizationInfo: the verdict, the token as it stands now, the location it holds for
    (only when allowed: the spec echoes the EVSEs the driver may use), and why not."""
    allowed_now = allowed == schemas.AllowedType.ALLOWED
    info: dict[str, Any] = {
        "allowed": allowed,
        "token": token_object(token, valid=allowed_now),
    }
    if location is not None and allowed_now:
        info["location"] = location
    if reason:
        info["info"] = {"language": "en", "text": reason}
    return info
