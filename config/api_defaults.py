"""How the JSON API answers what none of its views decides: a URL under /api/ that names
nothing, and a `?format=` it cannot render (both found by fuzzing its schema), and the JSON
renderer every view uses."""

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# orjson writes datetimes and dataclasses itself, otherwise than DRF: hand them to DRF's encoder.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_DRF_DEFAULT = JSONEncoder().default


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An API client gets the API's JSON 404 (`/api/v1/stations/abc/` matches no route), not the
    site's HTML page. (A wrong /ocpi/ URL keeps the site's 404, as roaming.middleware says.)"""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


class LenientFormatNegotiation(DefaultContentNegotiation):
    """`?format=` naming a renderer we lack is ignored (the Accept header decides), where DRF
    would answer 404 for an address that exists."""

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)
        return [r for r in renderers if r.format == format] or renderers


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer's output, written by orjson (a few times faster: a station list's JSON
    cost more than its SQL). What orjson writes otherwise than DRF goes through DRF's encoder
    (dates, lazy translations, Decimals...), and what orjson refuses (a non-string key, an
    integer beyond 64 bits) or an indented answer (the browsable API) is rendered by DRF. Floats
    read the same, written shortest either way (only an exponent's form differs: 1e-05, 1e-5)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        if data is None or indent is not None or self.ensure_ascii or not self.compact:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=_DRF_DEFAULT, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: these two are line ends to JavaScript, escaped for JSONP-style embedding.
        if b"\xe2\x80\xa8" in text or b"\xe2\x80\xa9" in text:
            text = text.replace("\u2028".encode(), b"\\u2028").replace(
                "\u2029".encode(), b"\\u2029"
            )
        return text
