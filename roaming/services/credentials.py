"""Roaming write paths: registering with partners, being registered with, rotating, leaving.

Token names follow the spec: the party that registers (the Sender of credentials) calls the
other's versions with TOKEN_A, POSTs its own token (B) and receives the server's token (C).
We implement both sides, so which stored token is "ours" depends on who registered:
`Partner.inbound_token_hash` is always the token the partner presents to us, and
`Partner.outbound_token` always the token we present to the partner.
"""

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from roaming.adapters import adapter_class
from roaming.adapters.base import PartnerCredentials
from roaming.crypto import token_hash
from roaming.errors import NO_MUTUAL_VERSION, NOT_OCPI, PartnerError
from roaming.http import PeerResponse, outbound_url_check, peer_request
from roaming.models import Partner, PartnerKind, PartnerRole, PartnerState
from roaming.ocpi.transport import OcpiStatus, envelope_data
from roaming.ocpi.v221.reading import wire_parse
from roaming.ocpi.v230.schemas import Version
from roaming.ocpi.versions import SUPPORTED_VERSIONS
from roaming.selectors import our_party

logger = logging.getLogger(__name__)

# Modules without which a CPO connection is of no use to us.
REQUIRED_MODULES = ("credentials", "locations")


@dataclass(frozen=True)
class Discovery:
    version: str
    endpoints: dict[str, dict[str, str]]
    raw_token: bool  # send the token as is (2.1.1, or a peer that wants it), not base64


def new_token() -> str:
    """64 printable ASCII characters, the most a credentials token may hold."""
    return secrets.token_urlsafe(48)


def partner_discover(
    *,
    versions_url: str,
    token: str,
    raw_token: bool,
    partner: Partner | None,
    versions: tuple[str, ...] = SUPPORTED_VERSIONS,
) -> Discovery:
    """Fetch the partner's versions and the details of the highest of `versions` (by default
    every version we speak) that it speaks too. Versions we do not know are passed over."""
    reply = peer_request(
        "GET", versions_url, partner=partner, module="versions", token=token, raw_token=raw_token
    )
    data = envelope_data(reply.body, what="versions")
    items = data if isinstance(data, list) else [data]
    offered = {
        str(version.version): version.url
        for version in (
            wire_parse(
                Version,
                item,
                what="a version in the partner's list",
                ocpi_status=OcpiStatus.UNABLE_TO_USE_CLIENT_API,
                reason=NOT_OCPI,
            )
            for item in items
            if isinstance(item, dict) and item.get("version") in versions
        )
    }
    mutual = next((version for version in versions if version in offered), None)
    if mutual is None:
        listed = sorted(str(item.get("version")) for item in items if isinstance(item, dict))
        raise PartnerError(
            f"no mutual OCPI version: the partner offers {', '.join(listed) or 'none'}, "
            f"we speak {', '.join(versions)}",
            permanent=True,
            ocpi_status=OcpiStatus.UNSUPPORTED_VERSION,
            reason=NO_MUTUAL_VERSION,
        )
    adapter = adapter_class(mutual)
    raw_token = raw_token or adapter.raw_tokens
    reply = peer_request(
        "GET", offered[mutual], partner=partner, module="versions", token=token, raw_token=raw_token
    )
    endpoints = adapter.endpoints_parse(envelope_data(reply.body, what="version details"))
    for urls in endpoints.values():
        for url in urls.values():
            outbound_url_check(url)
    missing = [module for module in REQUIRED_MODULES if module not in endpoints]
    if missing:
        raise PartnerError(
            f"the partner offers no {', '.join(missing)} endpoint in OCPI {mutual}",
            permanent=True,
            ocpi_status=OcpiStatus.NO_MATCHING_ENDPOINTS,
        )
    return Discovery(version=mutual, endpoints=endpoints, raw_token=raw_token)


def roles_replace(*, partner: Partner, credentials: PartnerCredentials) -> None:
    """Record the country_code/party_id pairs the partner speaks for (a hub sends many).

    A party another partner already speaks for is refused whatever role it is claimed under:
    whoever holds a role of a party may write that party's objects, so a second partner naming
    it (say as a HUB) could publish stations under the first one's name. Our own party is
    refused for the same reason.
    """
    for role in credentials.roles:
        party = {"country_code": role.country_code, "party_id": role.party_id}
        if our_party(**party):
            raise PartnerError(
                f"{party['country_code']}*{party['party_id']} is our own party",
                permanent=True,
                ocpi_status=OcpiStatus.CLIENT_ERROR,
            )
        if PartnerRole.objects.filter(**party).exclude(partner=partner).exists():
            raise PartnerError(
                f"{party['country_code']}*{party['party_id']} already belongs to another "
                "connected partner",
                permanent=True,
                ocpi_status=OcpiStatus.CLIENT_ERROR,
            )
    partner.roles.all().delete()
    try:
        with transaction.atomic():
            PartnerRole.objects.bulk_create(
                PartnerRole(
                    partner=partner,
                    role=role.role,
                    country_code=role.country_code,
                    party_id=role.party_id,
                    business_name=role.business_name,
                )
                for role in credentials.roles
            )
    except IntegrityError as exc:
        raise PartnerError(
            "one of the partner's roles (country code + party id) already belongs to another "
            "connected partner",
            permanent=True,
            ocpi_status=OcpiStatus.CLIENT_ERROR,
        ) from exc


def partner_register(
    *, name: str, versions_url: str, token_a: str, raw_token: bool = False
) -> Partner:
    """Register with a partner that gave us its versions URL and a TOKEN_A.

    Discovers the highest mutual version and its endpoints, POSTs our credentials with a new
    token for the partner to call us with, and stores the token it answers with. The partner
    row is committed before the POST because the partner calls our versions back with the new
    token while answering. Raises PartnerError with what went wrong; a failed attempt leaves
    the partner unregistered so it can be retried.
    """
    outbound_url_check(versions_url)
    partner, created = Partner.objects.get_or_create(
        name=name, defaults={"kind": PartnerKind.OCPI, "state": PartnerState.UNREGISTERED}
    )
    if not created and partner.state in (PartnerState.ACTIVE, PartnerState.DEGRADED):
        raise PartnerError(
            f"{name} is already registered; rotate its credentials instead", permanent=True
        )
    discovery = partner_discover(
        versions_url=versions_url, token=token_a, raw_token=raw_token, partner=partner
    )
    token_for_partner = new_token()
    Partner.objects.filter(pk=partner.pk).update(
        versions_url=versions_url,
        version=discovery.version,
        endpoints=discovery.endpoints,
        raw_token_header=discovery.raw_token,
        inbound_token_hash=token_hash(token_for_partner),
        inbound_token_is_a=False,
        state=PartnerState.REGISTERING,
    )
    partner.refresh_from_db()
    credentials_url = discovery.endpoints["credentials"].get("SENDER") or next(
        iter(discovery.endpoints["credentials"].values())
    )
    adapter = adapter_class(discovery.version)
    try:
        reply = peer_request(
            "POST",
            credentials_url,
            partner=partner,
            module="credentials",
            token=token_a,
            raw_token=discovery.raw_token,
            json=adapter.credentials_render(token_for_partner),
        )
        credentials = adapter.credentials_parse(envelope_data(reply.body, what="credentials"))
    except PartnerError as error:
        Partner.objects.filter(pk=partner.pk).update(
            state=PartnerState.UNREGISTERED, inbound_token_hash=None, last_error=error.message
        )
        raise
    with transaction.atomic():
        partner.outbound_token = credentials.token
        partner.state = PartnerState.ACTIVE
        partner.consecutive_failures = 0
        partner.last_error = ""
        partner.save()
        roles_replace(partner=partner, credentials=credentials)
    logger.info("registered with partner %s (OCPI %s)", name, discovery.version)
    return partner


@transaction.atomic
def partner_invite(*, name: str) -> tuple[Partner, str]:
    """Prepare a partner to register with us: returns it and the one-time TOKEN_A to hand over.

    TOKEN_A only opens our versions and credentials endpoints, and stops working once the
    partner has registered.
    """
    token_a = new_token()
    partner, _ = Partner.objects.update_or_create(
        name=name,
        defaults={
            "kind": PartnerKind.OCPI,
            "state": PartnerState.INVITED,
            "inbound_token_hash": token_hash(token_a),
            "inbound_token_is_a": True,
        },
    )
    return partner, token_a


def credentials_accept(
    *, partner: Partner, body: Any, rotating: bool, version: str
) -> dict[str, Any]:
    """A partner POSTs (registers) or PUTs (rotates) its credentials to us, at our `version`'s
    credentials endpoint: that is the version it chose, and the one we look for in its list.

    We call its versions back with the token it sent, store that token as ours to use, issue a
    new token for it, and return our credentials object. Raises PartnerError carrying the OCPI
    status to answer (2001 bad body, 3001 cannot call back, 3002 no version, 3003 endpoints).
    """
    adapter = adapter_class(version)
    credentials = adapter.credentials_parse(body)
    try:
        discovery = partner_discover(
            versions_url=credentials.url,
            token=credentials.token,
            raw_token=partner.raw_token_header,
            partner=partner,
            versions=(version,),
        )
    except PartnerError as error:
        if error.ocpi_status != OcpiStatus.SERVER_ERROR:
            raise
        raise PartnerError(
            f"we cannot use your versions endpoint: {error.message}",
            permanent=error.permanent,
            ocpi_status=OcpiStatus.UNABLE_TO_USE_CLIENT_API,
        ) from error
    token_for_partner = new_token()
    with transaction.atomic():
        partner.versions_url = credentials.url
        partner.version = discovery.version
        partner.endpoints = discovery.endpoints
        partner.raw_token_header = discovery.raw_token
        partner.outbound_token = credentials.token
        partner.inbound_token_hash = token_hash(token_for_partner)
        partner.inbound_token_is_a = False
        partner.state = PartnerState.ACTIVE
        partner.consecutive_failures = 0
        partner.last_error = ""
        partner.save()
        roles_replace(partner=partner, credentials=credentials)
    logger.info(
        "partner %s %s its credentials (OCPI %s)",
        partner.name,
        "rotated" if rotating else "registered",
        discovery.version,
    )
    return adapter.credentials_render(token_for_partner)


@transaction.atomic
def partner_unregister(*, partner: Partner) -> None:
    """Forget a partner's tokens and stop all traffic (it sent DELETE, or an admin did)."""
    partner.state = PartnerState.UNREGISTERED
    partner.inbound_token_hash = None
    partner.outbound_token = ""
    partner.save()


def credentials_call(partner: Partner, method: str, body: Any = None) -> PeerResponse:
    """Our call to the partner's credentials endpoint (PUT to rotate, DELETE to leave) with
    the token it gave us. Raises PartnerError, also when it offers no such endpoint."""
    credentials_url = partner.endpoint("credentials") or partner.endpoint("credentials", "RECEIVER")
    if not credentials_url:
        raise PartnerError(f"{partner.name} offers no credentials endpoint", permanent=True)
    return peer_request(
        method,
        credentials_url,
        partner=partner,
        module="credentials",
        token=partner.outbound_token,
        raw_token=partner.raw_token_header,
        json=body,
    )


def partner_leave(*, partner: Partner) -> str:
    """An admin ends the connection: tell the partner (DELETE on its credentials endpoint,
    which OCPI asks of the party leaving), then forget its tokens whatever it answered.
    Returns what became of the call, for the admin ("" when it went through)."""
    told = ""
    if partner.kind == PartnerKind.OCPI and partner.outbound_token:
        try:
            credentials_call(partner, "DELETE")
        except PartnerError as error:
            told = f"the partner was not told ({error.message}); its tokens are forgotten anyway"
    partner_unregister(partner=partner)
    return told


def partner_credentials_rotate(*, partner: Partner) -> Partner:
    """Give the partner a new token to call us with and take its new token (our PUT)."""
    if partner.state not in (PartnerState.ACTIVE, PartnerState.DEGRADED):
        raise PartnerError(f"{partner.name} is not registered", permanent=True)
    if not (partner.endpoint("credentials") or partner.endpoint("credentials", "RECEIVER")):
        raise PartnerError(f"{partner.name} offers no credentials endpoint", permanent=True)
    adapter = adapter_class(partner.version)
    token_for_partner = new_token()
    previous_hash = partner.inbound_token_hash
    # The partner may call our versions with the new token before it answers.
    Partner.objects.filter(pk=partner.pk).update(inbound_token_hash=token_hash(token_for_partner))
    try:
        reply = credentials_call(partner, "PUT", adapter.credentials_render(token_for_partner))
        credentials = adapter.credentials_parse(envelope_data(reply.body, what="credentials"))
    except PartnerError:
        Partner.objects.filter(pk=partner.pk).update(inbound_token_hash=previous_hash)
        raise
    with transaction.atomic():
        partner.refresh_from_db()
        partner.outbound_token = credentials.token
        partner.save()
        roles_replace(partner=partner, credentials=credentials)
    return partner
