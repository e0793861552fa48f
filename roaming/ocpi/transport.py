"""OCPI transport rules shared by every version: envelopes, status codes, timestamps, tokens.

Spec: transport_and_format and status_codes (2.2.1). We emit `Z` timestamps and parse
tolerantly (with or without `Z`, with fractions, with `+00:00`), because peers differ.
"""

import base64
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import orjson
from django.http import HttpResponse
from django.utils import timezone

from roaming.errors import NOT_OCPI, PartnerError


class OcpiStatus(IntEnum):
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


def ocpi_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with a `Z`, to the second or millisecond as the value has it."""
    moment = (moment or timezone.now()).astimezone(UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def ocpi_datetime_parse(text: str) -> datetime:
    """Parse an OCPI DateTime; a value without a zone designator is UTC (the spec says so)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"not an RFC 3339 date-time: {text!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ocpi_response(
    data: Any = None,
    *,
    status_code: int = OcpiStatus.SUCCESS,
    message: str | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An OCPI response envelope; `data` is left out when it is None (Session PUT, errors)."""
    body: dict[str, Any] = {"status_code": int(status_code), "timestamp": ocpi_timestamp()}
    if data is not None:
        body["data"] = data
    if message:
        body["status_message"] = message
    return HttpResponse(
        orjson.dumps(body), status=http_status, content_type="application/json", headers=headers
    )


def envelope_data(body: bytes, *, what: str) -> Any:
    """The `data` of a peer's OCPI envelope, or a PartnerError saying what was wrong with it."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PartnerError(
            f"{what}: the answer is not JSON, so not an OCPI endpoint",
            permanent=True,
            reason=NOT_OCPI,
        ) from exc
    if not isinstance(envelope, dict) or "status_code" not in envelope:
        raise PartnerError(
            f"{what}: the answer is not an OCPI response envelope", permanent=True, reason=NOT_OCPI
        )
    status = envelope.get("status_code")
    if status != OcpiStatus.SUCCESS:
        detail = envelope.get("status_message") or "no message"
        raise PartnerError(
            f"{what}: the partner answered OCPI status {status} ({detail})",
            permanent=isinstance(status, int) and 2000 <= status < 3000,
        )
    return envelope.get("data")


def authorization_header(token: str, *, raw: bool = False) -> str:
    """`Token <base64(token)>` as 2.2.1 wants, or the raw token for peers that expect it."""
    if raw:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode()).decode("ascii")


def authorization_tokens(header: str | None) -> list[str]:
    """The token candidates an `Authorization: Token ...` header can carry.

    Peers send base64 (2.2.1) or the raw token (2.1.1 habit); a raw token can itself be valid
    base64, so both readings are returned and the caller looks up each.
    """
    if not header or not header.startswith("Token "):
        return []
    value = header.removeprefix("Token ").strip()
    if not value:
        return []
    candidates = [value]
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        return candidates
    if decoded and decoded.isprintable():
        candidates.insert(0, decoded)
    return candidates
