"""Our OCPI 2.2.1 receiver endpoints for locations and tariffs: partners push, we store.

Rules (mod_locations, mod_tariffs): only the partner that registered a country_code/party_id
may write its objects; ids in the URL must match the body; PATCH needs `last_updated`; an older
`last_updated` never overwrites a newer one (the push is acknowledged and ignored); a child
write bumps its parents' `last_updated`; `REMOVED` and `publish: false` hide. Every refusal is
an OCPI status with a message and a 4xx, and leaves the catalogue unchanged.

Each push is parsed once by the partner's adapter and handed to one `locator.catalogue`
function, whose errors are mapped here to OCPI status codes.
"""

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from config.redis_connection import RedisCount
from locator.catalogue import (
    CatalogueError,
    CatalogueUnavailableError,
    EvseStatusUpdate,
    UnknownObjectError,
    catalogue_connector_patch,
    catalogue_connector_put,
    catalogue_evse_patch,
    catalogue_evse_put,
    catalogue_location_get,
    catalogue_location_patch,
    catalogue_locations_upsert,
    catalogue_tariff_delete,
    catalogue_tariff_get,
    catalogue_tariffs_upsert,
    evse_status_submit,
)
from roaming.adapters import adapter_for
from roaming.adapters.base import RoamingAdapter
from roaming.errors import PartnerError
from roaming.models import Partner
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.known_partners import PartnerGuard
from roaming.ocpi.transport import OcpiStatus, ocpi_response
from roaming.push_counts import push_count, push_count_record
from roaming.services.sync import catalogue_source

STALE_MESSAGE = "Ignored: we hold a newer version of this object"


def refusal(status: int, message: str) -> HttpResponse:
    http_status = 404 if status in (OcpiStatus.UNKNOWN_LOCATION, OcpiStatus.CLIENT_ERROR) else 400
    return ocpi_response(status_code=status, message=message, http_status=http_status)


def catalogue_refusal(error: CatalogueError) -> HttpResponse:
    """The OCPI answer to a write the catalogue did not take."""
    if isinstance(error, CatalogueUnavailableError):
        # Nothing was stored: the partner retries or, as OCPI advises, we resync by GET.
        return ocpi_response(
            status_code=OcpiStatus.SERVER_ERROR,
            message="Temporarily unable to take pushes; please retry shortly",
            http_status=503,
        )
    if isinstance(error, UnknownObjectError):
        return refusal(OcpiStatus.UNKNOWN_LOCATION, str(error))
    return refusal(OcpiStatus.INVALID_PARAMETERS, str(error))


def body_json(request: HttpRequest) -> Any:
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise PartnerError(
            "The body is not valid JSON", permanent=True, ocpi_status=OcpiStatus.INVALID_PARAMETERS
        ) from exc


def ids_match(body: Any, expected: dict[str, str]) -> None:
    """The ids a body carries must be the URL's (CiStrings: compared case-insensitively)."""
    if not isinstance(body, dict):
        raise PartnerError(
            "The body must be a JSON object",
            permanent=True,
            ocpi_status=OcpiStatus.INVALID_PARAMETERS,
        )
    for name, value in expected.items():
        if name in body and str(body[name]).upper() != value.upper():
            raise PartnerError(
                f"{name} in the body ({body[name]}) is not the one in the URL ({value})",
                permanent=True,
                ocpi_status=OcpiStatus.INVALID_PARAMETERS,
            )


def party(partner: Partner, country_code: str, party_id: str) -> dict[str, str]:
    """Where the catalogue keeps this party's objects pushed by this partner."""
    return {
        "source": catalogue_source(partner),
        "country_code": country_code,
        "party_id": party_id,
    }


def written(applied: bool) -> HttpResponse:
    return ocpi_response() if applied else ocpi_response(message=STALE_MESSAGE)


@require_http_methods(["GET", "PUT", "PATCH"])
@ocpi_endpoint("locations", guarded_patches=True)
def locations(
    request: HttpRequest,
    version: str,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None = None,
    connector_id: str | None = None,
    *,
    partner: Partner,
    guard: PartnerGuard | None,
) -> HttpResponse:
    where = {**party(partner, country_code, party_id), "location_id": location_id}
    try:
        adapter = adapter_for(partner)
        if request.method == "GET":
            return location_get(adapter, where, evse_uid, connector_id)
        return written(
            location_write(request, adapter, where, evse_uid, connector_id, partner, guard)
        )
    except PartnerError as error:
        return refusal(error.ocpi_status, error.message)
    except CatalogueError as error:
        return catalogue_refusal(error)


def location_write(
    request: HttpRequest,
    adapter: RoamingAdapter,
    where: dict[str, str],
    evse_uid: str | None,
    connector_id: str | None,
    partner: Partner,
    guard: PartnerGuard | None,
) -> bool:
    """A pushed PUT or PATCH, counted for the admin whatever becomes of it."""
    now = timezone.now()
    count = push_count(partner=partner, now=now)
    try:
        body = body_json(request)
        if connector_id is not None:
            ids_match(body, {"id": connector_id})
        elif evse_uid is not None:
            ids_match(body, {"uid": evse_uid})
        else:
            ids_match(
                body,
                {
                    "country_code": where["country_code"],
                    "party_id": where["party_id"],
                    "id": where["location_id"],
                },
            )
        if request.method == "PUT":
            return location_put(adapter, where, body, evse_uid, connector_id)
        return location_patch(adapter, where, body, evse_uid, connector_id, count, guard)
    finally:
        push_count_record(partner=partner, now=now, count=count)


def location_put(
    adapter: RoamingAdapter,
    where: dict[str, str],
    body: Any,
    evse_uid: str | None,
    connector_id: str | None,
) -> bool:
    if evse_uid is not None and connector_id is not None:
        return catalogue_connector_put(
            **where, evse_uid=evse_uid, connector=adapter.connector_parse(body)
        )
    if evse_uid is not None:
        return catalogue_evse_put(**where, evse=adapter.evse_parse(body))
    records = [adapter.location_parse(body)]
    return catalogue_locations_upsert(source=where["source"], records=records).written > 0


def location_patch(
    adapter: RoamingAdapter,
    where: dict[str, str],
    body: Any,
    evse_uid: str | None,
    connector_id: str | None,
    count: RedisCount | None,
    guard: PartnerGuard | None,
) -> bool:
    if evse_uid is not None and connector_id is None:
        patch = adapter.evse_patch_parse(body)
        if set(patch.changes) == {"status"}:
            # The bulk of partner traffic: one Redis round trip carries the queued push, its
            # count and the check that the partner's authentication is current.
            update = EvseStatusUpdate(
                country_code=where["country_code"],
                party_id=where["party_id"],
                location_id=where["location_id"],
                evse_uid=evse_uid,
                status=patch.changes["status"],
                last_updated=patch.last_updated,
            )
            condition = guard.condition if guard is not None else None
            return evse_status_submit(
                source=where["source"], update=update, count=count, condition=condition
            )
    if guard is not None:
        guard.confirm()
    if evse_uid is None:
        return catalogue_location_patch(**where, patch=adapter.location_patch_parse(body))
    if connector_id is None:
        return catalogue_evse_patch(**where, evse_uid=evse_uid, patch=patch)
    return catalogue_connector_patch(
        **where,
        evse_uid=evse_uid,
        connector_id=connector_id,
        patch=adapter.connector_patch_parse(body),
    )


def location_get(
    adapter: RoamingAdapter, where: dict[str, str], evse_uid: str | None, connector_id: str | None
) -> HttpResponse:
    location = catalogue_location_get(**where)
    if location is None:
        return refusal(OcpiStatus.UNKNOWN_LOCATION, f"Unknown location {where['location_id']}")
    data = adapter.location_render(location)
    if evse_uid is None:
        return ocpi_response(data)
    evse = next((evse for evse in data["evses"] if evse["uid"] == evse_uid), None)
    if evse is None:
        return refusal(OcpiStatus.UNKNOWN_LOCATION, f"Unknown EVSE {evse_uid}")
    if connector_id is None:
        return ocpi_response(evse)
    connector = next((c for c in evse["connectors"] if c["id"] == connector_id), None)
    if connector is None:
        return refusal(OcpiStatus.UNKNOWN_LOCATION, f"Unknown connector {connector_id}")
    return ocpi_response(connector)


@require_http_methods(["GET", "PUT", "DELETE"])
@ocpi_endpoint("tariffs")
def tariffs(
    request: HttpRequest,
    version: str,
    country_code: str,
    party_id: str,
    tariff_id: str,
    *,
    partner: Partner,
) -> HttpResponse:
    where = party(partner, country_code, party_id)
    try:
        adapter = adapter_for(partner)
        if request.method == "GET":
            tariff = catalogue_tariff_get(**where, tariff_id=tariff_id)
            if tariff is None:
                return refusal(OcpiStatus.UNKNOWN_LOCATION, f"Unknown tariff {tariff_id}")
            return ocpi_response(adapter.tariff_render(tariff))
        push_count_record(partner=partner, now=timezone.now())
        if request.method == "DELETE":
            catalogue_tariff_delete(**where, tariff_id=tariff_id)
            return ocpi_response()
        body = body_json(request)
        ids_match(body, {"country_code": country_code, "party_id": party_id, "id": tariff_id})
        record = adapter.tariff_parse(body)
    except PartnerError as error:
        return refusal(error.ocpi_status, error.message)
    result = catalogue_tariffs_upsert(source=where["source"], records=[record])
    return written(result.written > 0)
