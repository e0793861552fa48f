"""What a person sees when a service behind the app is down: a 503 that says so, not a 500."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from redis import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
UNAVAILABLE = "This is not possible right now. Please try again in a minute."


class ServiceUnavailableMiddleware:
    """Answers 503 with Retry-After when a request fails because Redis (cache, limits, queue)
    is unreachable: sign-ins and writes that need their limits checked wait for it; reads that
    need no limits (search, station pages) do not reach here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RedisError):
            return None
        logger.warning("Redis unavailable for %s %s: %s", request.method, request.path, exception)
        response: HttpResponse
        if request.path.startswith("/api/") or (
            request.accepts("application/json") and not (request.accepts("text/html"))
        ):
            response = JsonResponse({"detail": UNAVAILABLE, "code": "unavailable"}, status=503)
        else:
            response = render(request, "unavailable.html", {"message": UNAVAILABLE}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
