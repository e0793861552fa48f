"""Who is calling: one client identity for every limit (allauth's, DRF's and our own).

Behind reverse proxies the connecting address (REMOTE_ADDR) is the nearest proxy's, and the
client's own is in `X-Forwarded-For`, which each proxy extends with the address it received the
request from. Only the last `TRUSTED_PROXY_COUNT` entries were written by proxies we run; what
stands left of them came from the client and may be anything. So with N trusted proxies the
client is the N-th entry from the right, and with none it is REMOTE_ADDR, whatever the request
says about itself.
"""

import ipaddress
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from rest_framework import throttling
from rest_framework.exceptions import APIException
from rest_framework.request import Request

if TYPE_CHECKING:
    # Importing DRF's views here would import these throttles while DRF reads its settings.
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address as our outermost trusted proxy saw it (REMOTE_ADDR without one)."""
    remote: str = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [hop for hop in forwarded if hop]
    if not forwarded:
        # Not through our proxies (a health check on the host itself): the peer is the client.
        return remote
    candidate = forwarded[-min(trusted, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate.strip("[]")))
    except ValueError:
        logger.warning("X-Forwarded-For entry %r is not an address; using the peer", candidate)
        return remote


class LimitsUnavailable(APIException):
    status_code = 503
    default_detail = "This is not possible right now. Please try again in a minute."
    default_code = "limits_unavailable"


class ClientThrottleMixin:
    """DRF throttling on `client_ip`; with the limit store (Redis) down, reads go on unlimited
    and writes are refused with a 503, never a 500."""

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def allow_request(self, request: Request, view: "APIView") -> bool:
        try:
            allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:  # the cache backend's own errors (redis.RedisError, OSError)
            if request.method in ("GET", "HEAD", "OPTIONS"):
                logger.warning("rate limits unavailable, read let through: %s", exc)
                return True
            logger.warning("rate limits unavailable, write refused: %s", exc)
            raise LimitsUnavailable from exc
        return allowed


class AnonRateThrottle(ClientThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientThrottleMixin, throttling.UserRateThrottle):
    pass
