"""How the JSON API answers what none of its views decides: a URL under /api/ that names
nothing, and a `?format=` it cannot render. Both were found by fuzzing its schema."""

from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


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
