"""Answers the app gives before or instead of a view: a 503 that says a service behind the app
(Redis, the database) is down, and a 400 for a query string no view could use. Never a 500."""

import logging
import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults
from redis import RedisError

from config.db.errors import database_unreachable

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
UNAVAILABLE = "This is not possible right now. Please try again in a minute."
NUL_IN_QUERY = "must not contain a NUL character (%00)."


def wants_json(request: HttpRequest) -> bool:
    """API clients get JSON; browsers get a page in the site's style."""
    return request.path.startswith(("/api/", "/ocpi/")) or (
        request.accepts("application/json") and not request.accepts("text/html")
    )


class QueryTextMiddleware:
    """Refuses a query string holding a NUL character with a 400 naming the parameter.

    Views, the admin's search and allauth read query parameters as they are, and PostgreSQL
    refuses NUL in any text it is given; checking here once spares every view the same check.
    (Form fields and API serializers already refuse NUL in bodies.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" in request.META.get("QUERY_STRING", ""):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return self.refusal(request, name.replace("\x00", "%00"))
        return self.get_response(request)

    @staticmethod
    def refusal(request: HttpRequest, name: str) -> HttpResponse:
        if wants_json(request):
            return JsonResponse({name: NUL_IN_QUERY}, status=400)
        message = f"The address's {name!r} parameter {NUL_IN_QUERY}"
        context = {"title": "We cannot read that address", "message": message}
        return render(request, "notice.html", context, status=400)


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After. The page is rendered without the request's context: the signed-in
    user and messages live in the database, which may be the service that is down."""
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"detail": UNAVAILABLE, "code": "unavailable"}, status=503)
    else:
        context = {"title": "Try again in a minute", "message": UNAVAILABLE}
        response = HttpResponse(render_to_string("notice.html", context), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailableMiddleware:
    """Answers 503 with Retry-After when a view fails because Redis (cache, limits, queue) or
    the database is unreachable: sign-ins and writes that need their limits checked wait for
    Redis; reads that need no limits (search, station pages) do not reach here for Redis."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (isinstance(exception, RedisError) or database_unreachable(exception)):
            return None
        logger.warning(
            "%s unavailable for %s %s", type(exception).__name__, request.method, request.path
        )
        return unavailable(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unreachable database that surfaced outside a view (a middleware, an OCPI
    view, saving the session) is the same 503; anything else is Django's plain 500."""
    exception = sys.exc_info()[1]
    if exception is not None and database_unreachable(exception):
        return unavailable(request)
    return defaults.server_error(request)
