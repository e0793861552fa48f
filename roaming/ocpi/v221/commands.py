"""OCPI 2.2.1 commands, eMSP side (mod_commands): what we POST and how we read the answers.

A command is POSTed to the partner's commands RECEIVER at `{url}/{COMMAND_TYPE}`; the answer
is a CommandResponse (ACCEPTED, with the `timeout` in seconds it may take to send the
result, or a refusal). The CommandResult comes later, as a bare object POSTed to the unique
`response_url` we gave. Some partners put the CommandResponse in an envelope whose status code
is not 1000 (the sandbox answers 2003 with a REJECTED response for an unknown location): the
response is read whatever the status code, and only an envelope without one is an error.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson

from roaming.adapters.base import CommandOutcome, CommandReply
from roaming.errors import PartnerError
from roaming.http import peer_request
from roaming.models import Partner
from roaming.ocpi.transport import envelope_data
from roaming.ocpi.v221 import schemas
from roaming.ocpi.v221.reading import validated

RESPONSE_OUTCOMES = {
    schemas.CommandResponseType.ACCEPTED: CommandOutcome.ACCEPTED,
    schemas.CommandResponseType.REJECTED: CommandOutcome.REFUSED,
    schemas.CommandResponseType.NOT_SUPPORTED: CommandOutcome.NOT_SUPPORTED,
    schemas.CommandResponseType.UNKNOWN_SESSION: CommandOutcome.UNKNOWN_SESSION,
}
RESULT_OUTCOMES = {
    schemas.CommandResultType.ACCEPTED: CommandOutcome.ACCEPTED,
    schemas.CommandResultType.EVSE_OCCUPIED: CommandOutcome.EVSE_OCCUPIED,
    schemas.CommandResultType.EVSE_INOPERATIVE: CommandOutcome.EVSE_INOPERATIVE,
    schemas.CommandResultType.NOT_SUPPORTED: CommandOutcome.NOT_SUPPORTED,
    schemas.CommandResultType.REJECTED: CommandOutcome.REFUSED,
    schemas.CommandResultType.TIMEOUT: CommandOutcome.TIMEOUT,
}


def display_text(messages: list[schemas.DisplayText]) -> str:
    """The partner's message, in English when it gave one, else its first."""
    english = [m.text for m in messages if m.language.lower() == "en"]
    return (english or [m.text for m in messages] or [""])[0]


def response_reply(data: Any, *, what: str) -> CommandReply:
    """A CommandResponse as our reply."""
    response: schemas.CommandResponse = validated(
        schemas.CommandResponse, data, what=f"CommandResponse to {what}"
    )
    return CommandReply(
        outcome=RESPONSE_OUTCOMES[response.result],
        word=str(response.result),
        message=display_text(response.message),
        timeout=timedelta(seconds=response.timeout),
    )


def command_response_parse(
    body: bytes, *, what: str, read: Callable[..., CommandReply] = response_reply
) -> CommandReply:
    """The CommandResponse in a partner's answer to a command POST (`read` by the version's
    reader of its data)."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        envelope = None
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if data is None:
        envelope_data(body, what=what)  # raises what is wrong with the envelope
        raise PartnerError(f"{what}: the answer has no CommandResponse", permanent=True)
    return read(data, what=what)


def command_result_parse(payload: Any) -> CommandReply:
    """A CommandResult POSTed to one of our response URLs."""
    result: schemas.CommandResult = validated(schemas.CommandResult, payload, what="CommandResult")
    return CommandReply(
        outcome=RESULT_OUTCOMES.get(result.result, CommandOutcome.FAILED),
        word=str(result.result),
        message=display_text(result.message),
    )


def command_send(
    partner: Partner,
    command: schemas.CommandType,
    body: Any,
    *,
    read: Callable[..., CommandReply] = response_reply,
) -> CommandReply:
    """POST a command to the partner's commands receiver and read its CommandResponse."""
    base = partner.endpoint("commands", "RECEIVER")
    if not base:
        raise PartnerError(f"{partner.name} takes no commands", permanent=True)
    what = f"{command.value} to {partner.name}"
    response = peer_request(
        "POST",
        f"{base.rstrip('/')}/{command.value}",
        partner=partner,
        module="commands",
        token=partner.outbound_token or None,
        raw_token=partner.raw_token_header,
        json=body,
    )
    return command_response_parse(response.body, what=what, read=read)


def start_session(
    partner: Partner,
    *,
    token: dict[str, Any],
    location_id: str,
    evse_uid: str,
    connector_id: str,
    authorization_reference: str,
    response_url: str,
    read: Callable[..., CommandReply] = response_reply,
) -> CommandReply:
    """START_SESSION for `token` (the version's Token object); the connector and our
    authorization reference are named when given."""
    body: dict[str, Any] = {
        "response_url": response_url,
        "token": token,
        "location_id": location_id,
        "evse_uid": evse_uid,
    }
    if authorization_reference:
        body["authorization_reference"] = authorization_reference
    if connector_id:
        body["connector_id"] = connector_id
    return command_send(partner, schemas.CommandType.START_SESSION, body, read=read)


def stop_session(
    partner: Partner,
    *,
    session_id: str,
    response_url: str,
    read: Callable[..., CommandReply] = response_reply,
) -> CommandReply:
    return command_send(
        partner,
        schemas.CommandType.STOP_SESSION,
        {"response_url": response_url, "session_id": session_id},
        read=read,
    )


def unlock_connector(
    partner: Partner,
    *,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    response_url: str,
    read: Callable[..., CommandReply] = response_reply,
) -> CommandReply:
    return command_send(
        partner,
        schemas.CommandType.UNLOCK_CONNECTOR,
        {
            "response_url": response_url,
            "location_id": location_id,
            "evse_uid": evse_uid,
            "connector_id": connector_id,
        },
        read=read,
    )
