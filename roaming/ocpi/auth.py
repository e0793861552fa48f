"""Who is calling our OCPI endpoints: the partner whose token is in `Authorization`.

The token is checked on every call; the partner it belongs to and the parties that partner may
write for come from what this process remembers while nothing changed (see known_partners).
"""

import copy
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from config.redis_connection import ConditionFailedError
from roaming.crypto import token_hash
from roaming.models import Partner, PartnerState
from roaming.ocpi.known_partners import (
    KnownPartners,
    PartnerGuard,
    known_partners,
    partner_guard,
    partners_forget,
)
from roaming.ocpi.transport import OcpiStatus, authorization_tokens, ocpi_response
from roaming.ocpi.versions import SUPPORTED_VERSIONS
from roaming.selectors import partner_owns

# TOKEN_A (an invitation) opens only these modules (transport_and_format, 2.2.1).
TOKEN_A_MODULES = {"versions", "credentials"}
# Request headers echoed in the answer (transport_and_format), with their WSGI names.
ECHOED_HEADERS = (
    ("X-Request-ID", "HTTP_X_REQUEST_ID"),
    ("X-Correlation-ID", "HTTP_X_CORRELATION_ID"),
)


def partner_from_header(header: str | None, known: KnownPartners | None) -> Partner | None:
    """The partner whose token the header carries (a copy of its own to use), or None."""
    hashes = [token_hash(token) for token in authorization_tokens(header)]
    if not hashes:
        return None
    if known is not None:
        for hashed in hashes:
            if hashed in known.by_token_hash:
                return copy.copy(known.by_token_hash[hashed])
    partner = (
        Partner.objects.filter(inbound_token_hash__in=hashes)
        .exclude(state__in=[PartnerState.DISABLED, PartnerState.UNREGISTERED])
        .first()
    )
    if partner is not None and known is not None and partner.inbound_token_hash:
        known.by_token_hash[partner.inbound_token_hash] = copy.copy(partner)
    return partner


def partner_may_write(
    partner: Partner, country_code: str, party_id: str, known: KnownPartners | None
) -> bool:
    """Whether the partner owns this country_code/party_id (see `partner_owns`)."""
    party = (partner.pk, country_code.upper(), party_id.upper())
    if known is not None and party in known.writable:
        return True
    owns = partner_owns(partner=partner, country_code=country_code, party_id=party_id)
    if owns and known is not None:
        known.writable_add(*party)
    return owns


def ocpi_endpoint(
    module: str, *, guarded_patches: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Authenticate an OCPI view; the view receives the calling partner as `partner`.

    Unknown or missing tokens, and TOKEN_A outside versions/credentials, get HTTP 401; a
    version we do not speak in the path, 404 (each version's modules are at the same paths).
    Request and correlation IDs are echoed back as the spec asks.

    `guarded_patches`: a PATCH may be authenticated from what this process remembers without
    asking Redis whether that is current; the view then receives `guard` (a PartnerGuard, or
    None when the partner was checked already) and must `confirm()` it before writing, or hand
    its `condition` to the write. When the guard fails, the call is authenticated again from
    the database and the view runs again.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def answer(
            request: HttpRequest, args: Any, kwargs: Any, guard: PartnerGuard | None
        ) -> HttpResponse:
            known = guard.known if guard is not None else known_partners()
            partner = partner_from_header(request.META.get("HTTP_AUTHORIZATION"), known)
            version = kwargs.get("version", SUPPORTED_VERSIONS[0])
            if version not in SUPPORTED_VERSIONS:
                return ocpi_response(
                    status_code=OcpiStatus.UNSUPPORTED_VERSION,
                    message=f"We speak OCPI {', '.join(SUPPORTED_VERSIONS)}, not {version}",
                    http_status=404,
                )
            if partner is None or (partner.inbound_token_is_a and module not in TOKEN_A_MODULES):
                return ocpi_response(
                    status_code=OcpiStatus.CLIENT_ERROR,
                    message="Unknown or missing token"
                    if partner is None
                    else "This token only opens versions and credentials",
                    http_status=401,
                )
            if unreadable := [name for name, value in kwargs.items() if "\x00" in str(value)]:
                # The ids in the URL reach the database, which refuses NUL in text.
                return ocpi_response(
                    status_code=OcpiStatus.INVALID_PARAMETERS,
                    message=f"{unreadable[0]} in the URL must not contain a NUL character",
                    http_status=400,
                )
            if "party_id" in kwargs and not partner_may_write(
                partner, kwargs["country_code"], kwargs["party_id"], known
            ):
                return ocpi_response(
                    status_code=OcpiStatus.CLIENT_ERROR,
                    message=f"{kwargs['country_code']}/{kwargs['party_id']} is not your party",
                    http_status=404,
                )
            if guarded_patches:
                kwargs = {**kwargs, "guard": guard}
            return view(request, *args, partner=partner, **kwargs)

        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            guard = partner_guard() if guarded_patches and request.method == "PATCH" else None
            try:
                response = answer(request, args, kwargs, guard)
            except ConditionFailedError:  # what this process remembered is out of date
                partners_forget()
                response = answer(request, args, kwargs, None)
            # From META: request.headers would parse every header of every push to read these.
            for header, name in ECHOED_HEADERS:
                if name in request.META:
                    response[header] = request.META[name]
            return response

        return wrapper

    return decorate
