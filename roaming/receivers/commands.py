"""Our commands response URLs: where partners POST the CommandResult of a command we sent.

Each command has its own URL (`/ocpi/<version>/commands/<TYPE>/<command public id>`), so a
result lands only on the command it belongs to. An unknown command, or one sent to another
partner, is a 404: a partner may only answer its own commands. A repeated or late result is
acknowledged and changes nothing (see `command_result_apply`).
"""

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from roaming.adapters import adapter_for
from roaming.errors import PartnerError
from roaming.models import Command, Partner
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.transport import OcpiStatus, ocpi_response
from roaming.receivers.catalogue import body_json, refusal
from roaming.services.sessions import command_result_apply


@require_POST
@ocpi_endpoint("commands")
def command_result(
    request: HttpRequest, version: str, command_type: str, public_id: UUID, *, partner: Partner
) -> HttpResponse:
    command = (
        Command.objects.filter(public_id=public_id, type=command_type, partner=partner)
        .select_related("session")
        .first()
    )
    if command is None:
        return refusal(OcpiStatus.CLIENT_ERROR, f"Unknown command {command_type}/{public_id}")
    try:
        reply = adapter_for(partner).command_result_parse(body_json(request))
    except PartnerError as error:
        return refusal(error.ocpi_status, error.message)
    command_result_apply(command=command, reply=reply)
    return ocpi_response()
