"""How the JSON APIs answer what none of their views decides: a URL under /api/ or /ocpi/ that
names nothing, and a `?format=` the API cannot render. Each was found by fuzzing."""

from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

from roaming.ocpi.transport import OcpiStatus, ocpi_response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An API client gets the API's JSON 404 (`/api/v1/stations/abc/` matches no route) and a
    partner an OCPI one, not the site's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    if request.path.startswith("/ocpi/"):
        return ocpi_response(
            status_code=OcpiStatus.CLIENT_ERROR, message="No such OCPI endpoint", http_status=404
        )
    return defaults.page_not_found(request, exception)


class LenientFormatNegotiation(DefaultContentNegotiation):
    """`?format=` naming a renderer we lack is ignored (the Accept header decides), where DRF
    would answer 404 for an address that exists."""

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)
        return [r for r in renderers if r.format == format] or renderers
