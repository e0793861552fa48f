"""The Redis connection roaming's busiest paths share: one client and pool per process.

Django's cache builds a new client object on every call (about 0.1 ms of Python before any
I/O); the OCPI receiver takes a thousand pushes a second and talks to Redis a few times for
each, so it keeps one client instead. None without REDIS_URL (the embedded default).
"""

from functools import cache

import redis
from django.conf import settings


def redis_connection() -> redis.Redis | None:
    return _client(settings.REDIS_URL) if settings.REDIS_URL else None


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
