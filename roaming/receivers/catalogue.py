"""Our OCPI 2.2.1 receiver endpoints for locations and tariffs: partners push, we store.

Rules (mod_locations, mod_tariffs): only the partner that registered a country_code/party_id
may write its objects; ids in the URL must match the body; PATCH needs `last_updated`; an older
`last_updated` never overwrites a newer one (the push is acknowledged and ignored); a child
write bumps its parents' `last_updated`; `REMOVED` and `publish: false` hide. Every refusal is
an OCPI status with a message and a 4xx, and leaves the catalogue unchanged.
"""

import logging
from datetime import datetime
from typing import Any

import orjson
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from redis import RedisError
from redis.client import Pipeline

from locator.catalogue import EvseStatusUpdate
from locator.models import Location, Tariff
from locator.services import (
    CatalogueError,
    catalogue_connector_patch,
    catalogue_connector_put,
    catalogue_evse_patch,
    catalogue_evse_put,
    catalogue_evse_statuses_update,
    catalogue_location_patch,
    catalogue_locations_upsert,
    catalogue_tariff_delete,
    catalogue_tariffs_upsert,
)
from roaming.adapters import adapter_for
from roaming.adapters.base import Patch, RoamingAdapter
from roaming.errors import PartnerError
from roaming.models import Partner
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.known_evses import evse_known
from roaming.ocpi.transport import OcpiStatus, ocpi_response, ocpi_timestamp
from roaming.redis_connection import redis_connection
from roaming.selectors import push_counter_key, stored_location, stored_tariff
from roaming.services.sync import catalogue_source
from roaming.status_pushes import status_push_accept

logger = logging.getLogger(__name__)

STALE_MESSAGE = "Ignored: we hold a newer version of this object"
PUSH_COUNT_SECONDS = 3900  # the admin sums the last hour's per-minute counters


def refusal(status: int, message: str) -> HttpResponse:
    http_status = 404 if status in (OcpiStatus.UNKNOWN_LOCATION, OcpiStatus.CLIENT_ERROR) else 400
    return ocpi_response(status_code=status, message=message, http_status=http_status)


def push_counter_now(partner: Partner) -> str:
    """The cache key counting the partner's pushes this minute."""
    return push_counter_key(partner.pk, int(timezone.now().timestamp() // 60))


def push_count_commands(pipeline: Pipeline, partner: Partner) -> Pipeline:
    """Add "one more push this minute" to a Redis pipeline. With REDIS_URL set the cache is that
    Redis, and Django's Redis cache keeps integers as plain Redis integers: an INCR under the
    key the cache gives the counter is what `cache.incr` does (and `push_counts` reads it),
    without its client set-up and its extra round trip."""
    key = cache.make_key(push_counter_now(partner))
    pipeline.incr(key)
    pipeline.expire(key, PUSH_COUNT_SECONDS)
    return pipeline


def push_count_record(partner: Partner) -> None:
    """Count a push for the admin's per-hour figure; a cache outage only loses the count."""
    client = redis_connection()
    if client is None:  # the embedded default's local-memory cache
        key = push_counter_now(partner)
        if not cache.add(key, 1, timeout=PUSH_COUNT_SECONDS):
            cache.incr(key)
        return
    try:
        push_count_commands(client.pipeline(transaction=False), partner).execute()
    except RedisError:
        logger.warning("push counter unavailable: the cache did not answer")


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


def written(applied: bool) -> HttpResponse:
    return ocpi_response() if applied else ocpi_response(message=STALE_MESSAGE)


@require_http_methods(["GET", "PUT", "PATCH"])
@ocpi_endpoint("locations")
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
) -> HttpResponse:
    where = {
        "source": catalogue_source(partner),
        "country_code": country_code,
        "party_id": party_id,
        "location_id": location_id,
    }
    try:
        if request.method == "GET":
            return location_get(where, evse_uid, connector_id)
        if (
            request.method == "PATCH"
            and evse_uid is not None
            and connector_id is None
            and status_push_queued(partner, where, evse_uid, request.body)
        ):
            return written(True)
        push_count_record(partner)
        body = body_json(request)
        adapter = adapter_for(partner)
        if request.method == "PUT":
            return location_put(adapter, where, body, evse_uid, connector_id)
        return location_patch(adapter, where, body, evse_uid, connector_id)
    except PartnerError as error:
        return refusal(error.ocpi_status, error.message)
    except RedisError:
        # Nothing was stored: the partner retries or, as OCPI advises, we resync by GET.
        return ocpi_response(
            status_code=OcpiStatus.SERVER_ERROR,
            message="Temporarily unable to take pushes; please retry shortly",
            http_status=503,
        )
    except CatalogueError as error:
        return refusal(
            OcpiStatus.UNKNOWN_LOCATION if error.unknown else OcpiStatus.INVALID_PARAMETERS,
            str(error),
        )


def location_put(
    adapter: RoamingAdapter,
    where: dict[str, str],
    body: Any,
    evse_uid: str | None,
    connector_id: str | None,
) -> HttpResponse:
    if evse_uid is not None and connector_id is not None:
        ids_match(body, {"id": connector_id})
        return written(
            catalogue_connector_put(
                **where, evse_uid=evse_uid, connector=adapter.connector_parse(body)
            )
        )
    if evse_uid is not None:
        ids_match(body, {"uid": evse_uid})
        return written(catalogue_evse_put(**where, evse=adapter.evse_parse(body)))
    ids_match(
        body,
        {
            "country_code": where["country_code"],
            "party_id": where["party_id"],
            "id": where["location_id"],
        },
    )
    result = catalogue_locations_upsert(
        source=where["source"], records=[adapter.location_parse(body)]
    )
    return written(result.written > 0)


def location_patch(
    adapter: RoamingAdapter,
    where: dict[str, str],
    body: Any,
    evse_uid: str | None,
    connector_id: str | None,
) -> HttpResponse:
    if evse_uid is not None and connector_id is not None:
        ids_match(body, {"id": connector_id})
        patch = adapter.connector_patch_parse(body)
        return written(
            catalogue_connector_patch(
                **where,
                evse_uid=evse_uid,
                connector_id=connector_id,
                last_updated=patch.last_updated,
                changes=patch.changes,
            )
        )
    if evse_uid is not None:
        ids_match(body, {"uid": evse_uid})
        patch = adapter.evse_patch_parse(body)
        if set(patch.changes) == {"status"} and status_update_applied(where, evse_uid, patch):
            return written(True)
        return written(
            catalogue_evse_patch(
                **where, evse_uid=evse_uid, last_updated=patch.last_updated, changes=patch.changes
            )
        )
    ids_match(
        body,
        {
            "country_code": where["country_code"],
            "party_id": where["party_id"],
            "id": where["location_id"],
        },
    )
    patch = adapter.location_patch_parse(body)
    return written(
        catalogue_location_patch(**where, last_updated=patch.last_updated, changes=patch.changes)
    )


def status_update(where: dict[str, str], evse_uid: str, patch: Patch) -> EvseStatusUpdate:
    return EvseStatusUpdate(
        country_code=where["country_code"],
        party_id=where["party_id"],
        location_id=where["location_id"],
        evse_uid=evse_uid,
        status=patch.changes["status"],
        last_updated=patch.last_updated,
    )


def status_push_queued(
    partner: Partner, where: dict[str, str], evse_uid: str, raw_body: bytes
) -> bool:
    """The common push, an EVSE's status and nothing else, queued for the next batch (see
    roaming.status_pushes) together with its count, in one Redis round trip.

    False for any other body, an invalid one, one for an EVSE we do not hold, or when batching
    is off: the general path then takes the push from the start, counts it, and applies it or
    says what is wrong with it (an unknown EVSE or location: 2003, and the partner PUTs it)."""
    client = redis_connection()
    if client is None:
        return False
    try:
        body = orjson.loads(raw_body)
        ids_match(body, {"uid": evse_uid})
        patch = adapter_for(partner).evse_patch_parse(body)
    except (orjson.JSONDecodeError, PartnerError):
        return False
    if set(patch.changes) != {"status"} or not evse_known(**where, evse_uid=evse_uid):
        return False
    return status_push_accept(
        source=where["source"],
        update=status_update(where, evse_uid, patch),
        pipeline=push_count_commands(client.pipeline(transaction=False), partner),
    )


def status_update_applied(where: dict[str, str], evse_uid: str, patch: Patch) -> bool:
    """A status change applied now, through the catalogue's batched path (batching is off, as in
    the embedded default). False when it did not apply (a stale or unknown EVSE): the general
    path then answers why."""
    update = status_update(where, evse_uid, patch)
    return catalogue_evse_statuses_update(source=where["source"], updates=[update]).written > 0


def location_get(
    where: dict[str, str], evse_uid: str | None, connector_id: str | None
) -> HttpResponse:
    location = stored_location(**where)
    if location is None:
        return refusal(OcpiStatus.UNKNOWN_LOCATION, f"Unknown location {where['location_id']}")
    data = location_wire(location)
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


def without_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}


def stamp(moment: datetime) -> str:
    return ocpi_timestamp(moment)


def location_wire(location: Location) -> dict[str, Any]:
    """Our stored copy, in OCPI 2.2.1 shape (the fields the catalogue keeps)."""
    return without_empty(
        {
            "country_code": location.country_code,
            "party_id": location.party_id,
            "id": location.ocpi_id,
            "publish": location.publish,
            "publish_allowed_to": location.publish_allowed_to,
            "name": location.name,
            "address": location.address,
            "city": location.city,
            "postal_code": location.postal_code,
            "state": location.state,
            "country": location.country,
            "coordinates": {"latitude": f"{location.lat:.6f}", "longitude": f"{location.lon:.6f}"},
            "parking_type": location.parking_type,
            "evses": [
                without_empty(
                    {
                        "uid": evse.uid,
                        "evse_id": evse.evse_id,
                        "status": evse.status,
                        "capabilities": evse.capabilities,
                        "connectors": [
                            without_empty(
                                {
                                    "id": connector.ocpi_id,
                                    "standard": connector.standard,
                                    "format": connector.format,
                                    "power_type": connector.power_type,
                                    "max_voltage": connector.max_voltage,
                                    "max_amperage": connector.max_amperage,
                                    "max_electric_power": connector.max_electric_power,
                                    "tariff_ids": connector.tariff_ids,
                                    "last_updated": stamp(connector.last_updated),
                                }
                            )
                            for connector in evse.connectors.all()
                        ],
                        "floor_level": evse.floor_level,
                        "physical_reference": evse.physical_reference,
                        "parking_restrictions": evse.parking_restrictions,
                        "last_updated": stamp(evse.last_updated),
                    }
                )
                for evse in location.evses.all()
            ],
            "directions": location.directions,
            "operator": {"name": location.operator_name} if location.operator_name else None,
            "facilities": location.facilities,
            "time_zone": location.time_zone,
            "opening_times": location.opening_times,
            "charging_when_closed": location.charging_when_closed,
            "last_updated": stamp(location.last_updated),
        }
    )


def tariff_wire(tariff: Tariff) -> dict[str, Any]:
    return without_empty(
        {
            "country_code": tariff.country_code,
            "party_id": tariff.party_id,
            "id": tariff.ocpi_id,
            "currency": tariff.currency,
            "type": tariff.type,
            "tariff_alt_text": tariff.tariff_alt_text,
            "min_price": tariff.min_price,
            "max_price": tariff.max_price,
            "elements": tariff.elements,
            "start_date_time": stamp(tariff.start_date_time) if tariff.start_date_time else None,
            "end_date_time": stamp(tariff.end_date_time) if tariff.end_date_time else None,
            "last_updated": stamp(tariff.last_updated),
        }
    )


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
    where = {
        "source": catalogue_source(partner),
        "country_code": country_code,
        "party_id": party_id,
    }
    if request.method == "GET":
        tariff = stored_tariff(**where, tariff_id=tariff_id)
        if tariff is None:
            return refusal(OcpiStatus.UNKNOWN_LOCATION, f"Unknown tariff {tariff_id}")
        return ocpi_response(tariff_wire(tariff))
    push_count_record(partner)
    if request.method == "DELETE":
        catalogue_tariff_delete(**where, tariff_id=tariff_id)
        return ocpi_response()
    try:
        body = body_json(request)
        ids_match(body, {"country_code": country_code, "party_id": party_id, "id": tariff_id})
        record = adapter_for(partner).tariff_parse(body)
    except PartnerError as error:
        return refusal(error.ocpi_status, error.message)
    result = catalogue_tariffs_upsert(source=where["source"], records=[record])
    return written(result.written > 0)
