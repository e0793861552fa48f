"""The public JSON API: station search, map clusters, station details, live status, favourites.

Comments are in `locator.api_comments`, place search in `locator.api_places`.

Thin views: parse and validate the query (a bad value gets a 400 naming the parameter), call
one selector or service, return plain JSON. Contract in shared/DESIGN.md ("Public contract").
"""

import math
from typing import Any
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from locator import clusters, live, pricing, selectors, selectors_station, services
from locator.api_schema import (
    FavouriteOutput,
    MapOutput,
    StationDetailOutput,
    StationStatusOutput,
    StationSummaryOutput,
    answers,
    integer_parameter,
    number_parameter,
)
from locator.audience import viewer_restricted_stations, viewer_stations
from locator.catalogue import STANDARD_BITS, standard_label
from locator.models import Location

MAX_BBOX_DEGREES = 12.0  # a station list covers at most a region; the map API takes more
MAX_RADIUS_KM = 100.0
MAX_LIMIT = 200
MAX_EXPORT = 1000  # stations in one GeoJSON download
MAX_OFFSET = 10_000
MAX_COUNT = 10_000  # a list counts its stations up to this, then says "10,000+"
_STANDARDS_BY_UPPER = {code.upper(): code for code in STANDARD_BITS}
FILTER_PARAMETERS = [
    OpenApiParameter(
        "connector", str, many=True, description="OCPI connector standard, repeatable"
    ),
    number_parameter("min_power_kw", 0, 1000),
    OpenApiParameter("available", bool),
    OpenApiParameter("operator", str),
    OpenApiParameter("open_now", bool),
    OpenApiParameter("remote_start", bool),
]


def _number(
    params: Any, name: str, low: float, high: float, default: float | None = None
) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({name: f"must be a number, not {raw[:40]!r}."}) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationError({name: f"must be between {low:g} and {high:g}."})
    return value


def _flag(params: Any, name: str) -> bool:
    raw = (params.get(name) or "").lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ValidationError({name: "must be true or false."})


def parse_filters(params: Any, *, user: Any) -> selectors.StationFilters:
    """The search filters in the query, with the restricted stations this user may see."""
    standards = []
    for raw in params.getlist("connector"):
        for part in raw.split(","):
            if not part.strip():
                continue
            code = _STANDARDS_BY_UPPER.get(part.strip().upper())
            if code is None:
                raise ValidationError(
                    {
                        "connector": f"unknown connector standard {part[:40]!r}; "
                        "use OCPI names such as IEC_62196_T2_COMBO."
                    }
                )
            standards.append(code)
    return selectors.StationFilters(
        standards=tuple(dict.fromkeys(standards)),
        min_power_kw=_number(params, "min_power_kw", 0, 1000),
        available=_flag(params, "available"),
        operator=(params.get("operator") or "").strip()[:100],
        open_now=_flag(params, "open_now"),
        remote_start=_flag(params, "remote_start"),
        restricted_ids=viewer_restricted_stations(user=user),
    )


def parse_bbox(params: Any, *, max_degrees: float) -> selectors.BBox | None:
    raw = params.get("bbox")
    if not raw:
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ValidationError({"bbox": "must be four numbers: min_lon,min_lat,max_lon,max_lat."})
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError:
        raise ValidationError(
            {"bbox": "must be four numbers: min_lon,min_lat,max_lon,max_lat."}
        ) from None
    if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
        raise ValidationError({"bbox": "must be four finite numbers."})
    if not (
        -180 <= min_lon <= 180
        and -180 <= max_lon <= 180
        and -90 <= min_lat <= 90
        and -90 <= max_lat <= 90
    ):
        raise ValidationError({"bbox": "longitudes must be within ±180 and latitudes within ±90."})
    if min_lat > max_lat:
        raise ValidationError({"bbox": "min_lat is north of max_lat."})
    if min_lon > max_lon:
        raise ValidationError(
            {"bbox": "min_lon is east of max_lon: a box across the antimeridian; send two boxes."}
        )
    if max_lon - min_lon > max_degrees or max_lat - min_lat > max_degrees:
        raise ValidationError({"bbox": f"is too large; at most {max_degrees:g} degrees per side."})
    return selectors.BBox(min_lon, min_lat, max_lon, max_lat)


def _int(params: Any, name: str, low: int, high: int, default: int) -> int:
    value = _number(params, name, low, high, default)
    assert value is not None
    if value != int(value):
        raise ValidationError({name: "must be a whole number."})
    return int(value)


def search_parameters(max_limit: int, *, default_limit: int) -> list[OpenApiParameter]:
    """The query a station search takes (`search`), for the API schema."""
    return [
        number_parameter("lat", -90, 90),
        number_parameter("lon", -180, 180),
        number_parameter("radius_km", 0.1, MAX_RADIUS_KM, description="default 10"),
        OpenApiParameter(
            "bbox",
            str,
            description="min_lon,min_lat,max_lon,max_lat, at most "
            f"{MAX_BBOX_DEGREES:g} degrees a side; give a bbox, or lat and lon",
        ),
        integer_parameter("limit", 1, max_limit, description=f"default {default_limit}"),
        integer_parameter("offset", 0, MAX_OFFSET),
        *FILTER_PARAMETERS,
    ]


def search(
    request: Request, *, max_limit: int, default_limit: int
) -> tuple[selectors.SearchPage, selectors.StationFilters]:
    """The station search the query asks for (a point and radius, or a viewport), and the
    filters it applied."""
    params = request.query_params
    filters = parse_filters(params, user=request.user)
    limit = _int(params, "limit", 1, max_limit, default_limit)
    offset = _int(params, "offset", 0, MAX_OFFSET, 0)
    bbox = parse_bbox(params, max_degrees=MAX_BBOX_DEGREES)
    lat = _number(params, "lat", -90, 90)
    lon = _number(params, "lon", -180, 180)
    if bbox is None and (lat is None or lon is None):
        missing = "lat" if lat is None else "lon"
        raise ValidationError({missing: "give lat and lon (with radius_km), or bbox."})
    if bbox is not None:
        page = selectors.station_search(filters=filters, bbox=bbox, limit=limit, offset=offset)
        return page, filters
    assert lat is not None
    assert lon is not None
    radius = _number(params, "radius_km", 0.1, MAX_RADIUS_KM, 10.0)
    assert radius is not None
    page = selectors.station_search(
        filters=filters, point=(lat, lon), radius_km=radius, limit=limit, offset=offset
    )
    return page, filters


class StationListApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        operation_id="stations_list",
        parameters=[
            *search_parameters(MAX_LIMIT, default_limit=50),
            OpenApiParameter(
                "count", bool, description=f"with bbox: X-Total-Count, at most {MAX_COUNT + 1}"
            ),
        ],
        responses=answers({200: StationSummaryOutput(many=True)}, 400),
    )
    def get(self, request: Request) -> Response:
        """Stations near a point (nearest first, with `distance_km`) or in a viewport.
        Pagination: `limit`/`offset`; a `Link: <...>; rel="next"` header when there is more;
        `count=true` with a bbox adds `X-Total-Count` (a value above MAX_COUNT means "more")."""
        params = request.query_params
        limit = _int(params, "limit", 1, MAX_LIMIT, 50)
        offset = _int(params, "offset", 0, MAX_OFFSET, 0)
        page, filters = search(request, max_limit=MAX_LIMIT, default_limit=50)
        response = Response(page.results)
        bbox = parse_bbox(params, max_degrees=MAX_BBOX_DEGREES)
        if bbox is not None and _flag(params, "count"):
            if page.has_more or not (page.results or offset == 0):
                total = selectors.station_count(filters=filters, bbox=bbox, cap=MAX_COUNT)
            else:  # the last page: it tells the total without counting
                total = offset + len(page.results)
            response["X-Total-Count"] = str(total)
        if page.has_more:
            query = urlencode({**dict(params.lists()), "offset": offset + limit}, doseq=True)
            response["Link"] = f'<{request.build_absolute_uri(request.path)}?{query}>; rel="next"'
        return response


class StationGeoJsonApi(APIView):
    @extend_schema(
        operation_id="stations_geojson",
        parameters=search_parameters(MAX_EXPORT, default_limit=MAX_EXPORT),
        responses=answers({(200, "application/geo+json"): dict}, 400),
    )
    def get(self, request: Request) -> Response:
        """The same search as a GeoJSON FeatureCollection to download (up to 1,000 stations,
        each a Point with the list's fields as properties)."""
        page, _filters = search(request, max_limit=MAX_EXPORT, default_limit=MAX_EXPORT)
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
                "properties": {k: v for k, v in item.items() if k not in ("lat", "lon")},
            }
            for item in page.results
        ]
        return Response(
            {"type": "FeatureCollection", "features": features},
            content_type="application/geo+json",
            headers={"Content-Disposition": 'attachment; filename="plugway-stations.geojson"'},
        )


class MapApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "bbox", str, required=True, description="min_lon,min_lat,max_lon,max_lat"
            ),
            integer_parameter("zoom", 0, 22, required=True),
            *FILTER_PARAMETERS,
        ],
        responses=answers({200: MapOutput}, 400),
    )
    def get(self, request: Request) -> Response:
        """Clusters (`{lat, lon, count, available, max_power_kw}`) when zoomed out, stations when
        zoomed in: `{"kind": "clusters"|"stations", "items": [...]}`, at most 300 items."""
        params = request.query_params
        filters = parse_filters(params, user=request.user)
        bbox = parse_bbox(params, max_degrees=360)
        if bbox is None:
            raise ValidationError({"bbox": "is required: min_lon,min_lat,max_lon,max_lat."})
        if params.get("zoom") in (None, ""):
            raise ValidationError({"zoom": "is required: the map zoom level, 0 to 22."})
        zoom = _int(params, "zoom", 0, 22, 0)
        return Response(clusters.station_map(bbox=bbox, zoom=zoom, filters=filters))


def _evse_json(evse: Any, location: Location) -> dict[str, Any]:
    return {
        "id": evse.id,
        "can_start": selectors_station.evse_can_start(location=location, evse=evse),
        "uid": evse.uid,
        "evse_id": evse.evse_id,
        "status": evse.status,
        "status_changed_at": evse.status_changed_at.isoformat(),
        "last_updated": evse.last_updated.isoformat(),
        "capabilities": evse.capabilities,
        "floor_level": evse.floor_level,
        "physical_reference": evse.physical_reference,
        "connectors": [
            {
                "id": c.ocpi_id,
                "standard": c.standard,
                "label": standard_label(c.standard),
                "format": c.format,
                "power_type": c.power_type,
                "power_kw": c.power_kw,
                "tariff_ids": c.tariff_ids,
            }
            for c in evse.connectors.all()
        ],
    }


class StationDetailApi(APIView):
    @extend_schema(responses=answers({200: StationDetailOutput}, 404))
    def get(self, request: Request, station_id: int) -> Response:
        """One station with EVSEs, connectors, tariff summaries and opening hours."""
        detail = selectors_station.station_detail(
            station_id=station_id, restricted_ids=viewer_restricted_stations(user=request.user)
        )
        if detail is None:
            return Response({"detail": "No such station (it may have been removed)."}, status=404)
        location = detail.location
        return Response(
            {
                "id": location.id,
                "name": location.name or location.address,
                "address": location.address,
                "city": location.city,
                "postal_code": location.postal_code,
                "country": location.country,
                "lat": location.lat,
                "lon": location.lon,
                "operator": location.operator_name,
                "time_zone": location.time_zone,
                "opening_times": location.opening_times,
                "hours": detail.hours,
                "open_now": detail.is_open,
                "facilities": location.facilities,
                "max_power_kw": location.max_power_kw,
                "remote_start": location.remote_start,
                "price": detail.price,
                "tariffs": {
                    tariff_id: {"currency": t.currency, "summary": pricing.tariff_summary(t)}
                    for tariff_id, t in detail.tariffs.items()
                },
                "rating": detail.rating,
                "rating_count": detail.rating_count,
                "last_updated": location.last_updated.isoformat(),
                "evses": [_evse_json(evse, location) for evse in detail.evses],
            }
        )


class StationStatusApi(APIView):
    @extend_schema(responses=answers({200: StationStatusOutput}, 404))
    def get(self, request: Request, station_id: int) -> Response:
        """A station's EVSE statuses as shown, for pages that refresh themselves: `{available,
        evses, items: [{id, status, label, age, stale, startable}]}`; a report older than the
        threshold is `UNKNOWN` with `stale: true`."""
        state = live.station_live(
            station_id=station_id, stations=viewer_stations(user=request.user)
        )
        if state is None:
            return Response({"detail": "No such station (it may have been removed)."}, status=404)
        for item in state["items"]:
            # A charge point that turned busy or broken meanwhile greys out its Start button.
            item["startable"] = item["status"] not in selectors_station.EVSE_UNAVAILABLE
        response = Response(state)
        response["Cache-Control"] = "no-store"
        return response


class FavouritesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=answers({200: StationSummaryOutput(many=True)}, 403))
    def get(self, request: Request) -> Response:
        """Your starred stations, most recent first, as station list rows (live status)."""
        restricted = viewer_restricted_stations(user=request.user)
        response = Response(
            selectors.favourite_stations(user=request.user, restricted_ids=restricted)
        )
        response["Cache-Control"] = "no-store"
        return response


class FavouriteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses=answers({200: FavouriteOutput, 201: FavouriteOutput}, 400, 403, 404),
    )
    def put(self, request: Request, station_id: int) -> Response:
        """Star a station (201; 200 when it was starred already)."""
        location = visible_station(station_id, request.user)
        try:
            created = services.favourite_add(user=request.user, location=location)  # type: ignore[arg-type]
        except services.FavouriteError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(
            {"station": location.id, "favourite": True},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses=answers({204: None}, 403, 404))
    def delete(self, request: Request, station_id: int) -> Response:
        """Unstar a station; 404 when it is not among your favourites."""
        location = get_object_or_404(Location, id=station_id)
        if not services.favourite_remove(user=request.user, location=location):  # type: ignore[arg-type]
            return Response({"detail": "This station is not among your favourites."}, status=404)
        return Response(status=status.HTTP_204_NO_CONTENT)


def visible_station(station_id: int, user: Any) -> Location:
    """The station, if this user may see it (else 404, as for one that does not exist)."""
    return get_object_or_404(viewer_stations(user=user), id=station_id)
