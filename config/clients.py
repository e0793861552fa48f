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
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
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


# KEYS: one client's request times (newest first); ARGV: now, the window (s), the requests it
# allows. Drops the times that left the window; records now and returns nil when one more
# request is allowed, else returns the times kept (for Retry-After).
SLIDING_WINDOW = """
local now, window, allowed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest or tonumber(oldest) > now - window then break end
  redis.call('RPOP', KEYS[1])
end
if redis.call('LLEN', KEYS[1]) >= allowed then return redis.call('LRANGE', KEYS[1], 0, -1) end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], window)
return false
"""


_clients: "WeakKeyDictionary[Any, Any]" = WeakKeyDictionary()


def _redis_client(backend: RedisCache) -> Any:
    """The backend's client for writes, built once (Django builds one a call, about 70 µs of a
    request's CPU). Each thread has its own backend, pool and so client."""
    client = _clients.get(backend._cache)
    if client is None:
        client = _clients[backend._cache] = backend._cache.get_client(write=True)
    return client


class ClientRateThrottle(throttling.SimpleRateThrottle):
    """The API's one limit: a signed-in user's requests counted by account (the "user" rate),
    anyone else's by `client_ip` ("anon"). On a Redis cache a request costs one round trip (a
    sliding window in Lua; DRF's two throttles each read and wrote the cache, about 43% of a
    cluster request's CPU); on another cache (the embedded default) it is DRF's. With the
    limit store down, reads go on unlimited and writes are refused with a 503, never a 500."""

    # Not DRF's "throttle_%(scope)s_%(ident)s": its pickled lists would be the wrong type here.
    cache_format = "throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:
        """Nothing to read yet: the rate depends on who calls (see `allow_request`)."""

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        ident = request.user.pk if self.scope == "user" else client_ip(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: "APIView") -> bool:
        self.scope = "user" if request.user and request.user.is_authenticated else "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None or self.duration is None:  # a rate of None: no limit
            return True
        backend = caches[DEFAULT_CACHE_ALIAS]
        try:
            if isinstance(backend, RedisCache):
                return self._redis_allow(backend, request, view, self.num_requests, self.duration)
            allowed: bool = super().allow_request(request, view)
        except Exception as exc:  # the cache backend's own errors (redis.RedisError, OSError)
            if request.method in ("GET", "HEAD", "OPTIONS"):
                logger.warning("rate limits unavailable, read let through: %s", exc)
                return True
            logger.warning("rate limits unavailable, write refused: %s", exc)
            raise LimitsUnavailable from exc
        return allowed

    def _redis_allow(
        self, backend: RedisCache, request: Request, view: "APIView", limit: int, window: int
    ) -> bool:
        self.key = backend.make_key(self.get_cache_key(request, view))
        self.now = self.timer()
        client = _redis_client(backend)
        kept = client.eval(SLIDING_WINDOW, 1, self.key, repr(self.now), window, limit)
        if kept is None:
            return True
        self.history = [float(at) for at in kept]  # what DRF's wait() reads for Retry-After
        return False
