"""The public JSON API's place search: a typed place resolved, and suggestions as you type."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from locator import geocoding, places
from locator.api_schema import GeocodeOutput, PlaceSuggestionsOutput, answers


def _near(request: Request) -> tuple[float, float] | None:
    """The map's centre the client sent as `near=lat,lon`, to order places by; None if not
    sent or not a point."""
    try:
        lat, lon = (float(v) for v in request.query_params.get("near", "").split(","))
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _place_json(place: places.Place) -> dict[str, Any]:
    return {
        "kind": place.kind,
        "label": place.label,
        "detail": place.detail,
        "lat": place.lat,
        "lon": place.lon,
        "bbox": place.bbox,
        "source": place.source,
    }


NEAR_PARAMETER = OpenApiParameter(
    "near", str, description="the map's centre, lat,lon: nearer places first"
)


class GeocodeApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True), NEAR_PARAMETER],
        responses=answers({200: GeocodeOutput}, 400),
    )
    def get(self, request: Request) -> Response:
        """Resolve a typed place: `{place: {kind, label, detail, lat, lon, bbox, source} | null,
        choices: [place...], message}`; no place and some choices means "pick one"."""
        query = request.query_params.get("q", "")
        if not query.strip():
            raise ValidationError({"q": "type a place, an address or a station name."})
        answer = geocoding.place_find(query=query, near=_near(request))
        return Response(
            {
                "place": None if answer.place is None else _place_json(answer.place),
                "choices": [_place_json(p) for p in answer.choices],
                "message": answer.message,
            }
        )


class PlaceSuggestionsApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="what is typed so far; none: no suggestions"),
            NEAR_PARAMETER,
        ],
        responses=answers({200: PlaceSuggestionsOutput}),
    )
    def get(self, request: Request) -> Response:
        """Places from our stations that start like what is typed, for the search box's
        suggestions: `{places: [{kind, label, detail, lat, lon, bbox, source}]}`."""
        query = request.query_params.get("q", "")[:100]
        found = places.places_search(query=query, near=_near(request)) if query.strip() else []
        return Response({"places": [_place_json(p) for p in found]})
