"""What the public API answers, described for its OpenAPI schema (drf-spectacular) only.

The views in `locator.api` build plain dicts; these serializers state their shapes and every
error an operation can give, so clients can rely on the schema and the schemathesis fuzz test
(tests/fuzz/test_api_schema.py) checks each answer against it. Nothing here validates input.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

# Query parameters: numbers with the bounds the views enforce (a value outside them is a 400).


def number_parameter(
    name: str, low: float, high: float, *, required: bool = False, description: str = ""
) -> OpenApiParameter:
    schema = {"type": "number", "format": "double", "minimum": low, "maximum": high}
    return OpenApiParameter(name, schema, required=required, description=description)


def integer_parameter(
    name: str, low: int, high: int, *, required: bool = False, description: str = ""
) -> OpenApiParameter:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return OpenApiParameter(name, schema, required=required, description=description)


class ErrorOutput(serializers.Serializer[Any]):
    detail = serializers.CharField(help_text="What was wrong, for a person to read.")


# `{"<parameter or field>": "message"}`, or a list of messages per field for a JSON body.
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
}
ERRORS: dict[int, Any] = {
    400: OpenApiResponse(FIELD_ERRORS, description="A parameter or field is wrong (named)."),
    403: OpenApiResponse(ErrorOutput, description="Not signed in, or not yours to change."),
    404: OpenApiResponse(ErrorOutput, description="No such station or comment."),
    429: OpenApiResponse(ErrorOutput, description="Too many requests; wait and retry."),
    503: OpenApiResponse(ErrorOutput, description="A service behind the API is down; retry."),
}


def answers(success: dict[Any, Any], *errors: int) -> dict[Any, Any]:
    """An operation's responses: its success and the errors it can give (429 and 503 always
    can)."""
    return {**success, **{code: ERRORS[code] for code in (*errors, 429, 503)}}


class ConnectorCountOutput(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    available = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label


class StationOutput(serializers.Serializer[Any]):
    """What a search result and a station's page both say of a station."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    operator = serializers.CharField()
    max_power_kw = serializers.FloatField()
    remote_start = serializers.BooleanField()
    price = serializers.CharField()


class StationSummaryOutput(StationOutput):
    distance_km = serializers.FloatField(required=False, help_text="Point searches only.")
    connectors = serializers.DictField(
        child=ConnectorCountOutput(), help_text="Counts per OCPI connector standard."
    )
    evses = serializers.IntegerField()
    available = serializers.IntegerField()
    out_of_order = serializers.IntegerField(help_text="EVSEs out of order or not working.")
    status_at = serializers.DateTimeField(allow_null=True)
    status_age_s = serializers.IntegerField(allow_null=True)
    status_stale = serializers.BooleanField(help_text="The last report is too old to trust.")
    status_text = serializers.CharField(help_text="The status as a driver reads it.")
    url = serializers.CharField()


class ClusterOutput(serializers.Serializer[Any]):
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    count = serializers.IntegerField()
    available = serializers.IntegerField()
    max_power_kw = serializers.FloatField()


class MapOutput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["clusters", "stations"])
    items = serializers.ListField(
        child=serializers.DictField(),
        help_text="ClusterOutput items when `kind` is clusters, StationSummaryOutput otherwise.",
    )


class ConnectorOutput(serializers.Serializer[Any]):
    id = serializers.CharField()
    standard = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label
    format = serializers.CharField()
    power_type = serializers.CharField()
    power_kw = serializers.FloatField()
    tariff_ids = serializers.ListField(child=serializers.CharField())


class StationEvseOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The id a charge is started with.")
    can_start = serializers.BooleanField()
    uid = serializers.CharField()
    evse_id = serializers.CharField()
    status = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    last_updated = serializers.DateTimeField()
    capabilities = serializers.ListField(child=serializers.CharField())
    floor_level = serializers.CharField()
    physical_reference = serializers.CharField()
    connectors = ConnectorOutput(many=True)


class TariffSummaryOutput(serializers.Serializer[Any]):
    currency = serializers.CharField()
    summary = serializers.CharField()


class StationDetailOutput(StationOutput):
    country = serializers.CharField()
    time_zone = serializers.CharField()
    opening_times = serializers.JSONField(allow_null=True, help_text="As the operator sent it.")
    hours = serializers.ListField(child=serializers.CharField())
    open_now = serializers.BooleanField()
    facilities = serializers.ListField(child=serializers.CharField())
    tariffs = serializers.DictField(child=TariffSummaryOutput())
    rating = serializers.FloatField(allow_null=True)
    rating_count = serializers.IntegerField()
    last_updated = serializers.DateTimeField()
    evses = StationEvseOutput(many=True)


class CommentOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    author = serializers.CharField()
    text = serializers.CharField()
    rating = serializers.IntegerField(allow_null=True)
    outcome = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    mine = serializers.BooleanField()


class PlaceOutput(serializers.Serializer[Any]):
    kind = serializers.CharField(help_text="city, postcode, street, station or a geocoder's kind")
    detail = serializers.CharField(allow_blank=True, help_text="what tells it apart")
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label
    bbox = serializers.ListField(
        child=serializers.FloatField(),
        min_length=4,
        max_length=4,
        allow_null=True,
        help_text="min_lon, min_lat, max_lon, max_lat",
    )
    source = serializers.ChoiceField(choices=["geocoder", "catalogue"])  # type: ignore[assignment]


class GeocodeOutput(serializers.Serializer[Any]):
    place = PlaceOutput(allow_null=True)
    choices = PlaceOutput(many=True, help_text="no place and some choices: the driver picks one")
    message = serializers.CharField(allow_blank=True)


class PlaceSuggestionsOutput(serializers.Serializer[Any]):
    places = PlaceOutput(many=True)


class EvseStatusOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="UNKNOWN when the last report is too old.")
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label
    age = serializers.CharField(help_text="'reported 3 min ago'")
    stale = serializers.BooleanField()
    startable = serializers.BooleanField()


class StationStatusOutput(serializers.Serializer[Any]):
    available = serializers.IntegerField()
    evses = serializers.IntegerField()
    items = EvseStatusOutput(many=True)


class FavouriteOutput(serializers.Serializer[Any]):
    station = serializers.IntegerField()
    favourite = serializers.BooleanField()
