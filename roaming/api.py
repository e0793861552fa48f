"""Our OCPI endpoints: versions, version details, credentials (the receiving side)."""

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from roaming.adapters import adapter_class
from roaming.errors import PartnerError
from roaming.models import Partner
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.transport import OcpiStatus, authorization_tokens, ocpi_response
from roaming.ocpi.versions import (
    OFFERED_MODULES,
    SUPPORTED_VERSIONS,
    our_version_details_url,
)
from roaming.services import credentials_accept, partner_unregister


@require_GET
@ocpi_endpoint("versions")
def versions(request: HttpRequest, *, partner: Partner) -> HttpResponse:
    return ocpi_response(
        [{"version": v, "url": our_version_details_url(v)} for v in SUPPORTED_VERSIONS]
    )


@require_GET
@ocpi_endpoint("versions")
def version_details(request: HttpRequest, version: str, *, partner: Partner) -> HttpResponse:
    endpoints = adapter_class(version).endpoints_render(
        OFFERED_MODULES[version], our_version_details_url(version)
    )
    return ocpi_response({"version": version, "endpoints": endpoints})


@require_http_methods(["GET", "POST", "PUT", "DELETE"])
@ocpi_endpoint("credentials")
def credentials(request: HttpRequest, version: str, *, partner: Partner) -> HttpResponse:
    registered = not partner.inbound_token_is_a
    if request.method == "GET":
        # We keep only a hash of the partner's token; it just showed it to us.
        [presented, *_] = authorization_tokens(request.headers.get("Authorization"))
        return ocpi_response(adapter_class(version).credentials_render(presented))
    if request.method == "DELETE":
        if not registered:
            return method_not_allowed("Not registered: there is nothing to delete")
        partner_unregister(partner=partner)
        return ocpi_response()
    if (request.method == "POST") == registered:
        return method_not_allowed(
            "Already registered: use PUT to update"
            if registered
            else "Not registered yet: use POST"
        )
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return ocpi_response(
            status_code=OcpiStatus.INVALID_PARAMETERS,
            message="The body is not valid JSON",
            http_status=400,
        )
    try:
        answer = credentials_accept(
            partner=partner, body=body, rotating=registered, version=version
        )
    except PartnerError as error:
        return ocpi_response(status_code=error.ocpi_status, message=error.message)
    return ocpi_response(answer)


def method_not_allowed(message: str) -> HttpResponse:
    return ocpi_response(status_code=OcpiStatus.CLIENT_ERROR, message=message, http_status=405)
