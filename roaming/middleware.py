"""Partner API calls skip the browser's middleware.

Partners call /ocpi/ with a token, never with a session, a cookie or a form: sessions, CSRF,
authentication, messages, allauth and the CSP and frame headers do nothing for them, and at a
thousand status pushes a second running that stack cost more than taking the push. Placed
right after SecurityMiddleware (HTTPS redirect, HSTS, nosniff), this resolves /ocpi/ paths
against roaming.urls and calls the view at once. A path it cannot resolve goes down the normal
stack, so a wrong URL gets the same 404 as anywhere else.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLResolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern

PREFIX = "/ocpi/"


class OcpiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.resolver = URLResolver(RegexPattern(f"^{PREFIX}"), "roaming.urls")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        try:
            match = self.resolver.resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS, which CommonMiddleware checks on other paths
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        if not response.streaming:  # as CommonMiddleware does
            response.headers.setdefault("Content-Length", str(len(response.content)))
        return response
