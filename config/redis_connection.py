"""The Redis connection the busiest paths share: one client and pool per process.

Django's cache builds a new client object on every call (about 0.1 ms of Python before any
I/O); the OCPI receiver takes a thousand pushes a second and talks to Redis for each (the
catalogue's status queue, the push counter, the memories below), so they keep one client
instead. None without REDIS_URL (the embedded default).

Also counts: a Redis integer a write adds one to in its own round trip (see RedisCount). And
generations: a random token under a key that a writer replaces to tell every web process
to forget what it remembers (see roaming.ocpi.known_partners and
locator.catalogue.known_evses); and conditions, a generation a write checks in the same round
trip as it is made, so a process can act on what it remembers before asking whether that is
still current.
"""

import uuid
from dataclasses import dataclass
from functools import cache
from typing import cast

import redis
from django.conf import settings


def redis_connection() -> redis.Redis | None:
    return _client(settings.REDIS_URL) if settings.REDIS_URL else None


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def generation_read(key: str) -> bytes | None:
    """The generation under `key`, started if there is none (first use, or Redis lost its
    data). None without Redis or when it does not answer: remember nothing then."""
    client = redis_connection()
    if client is None:
        return None
    try:
        generation = client.get(key)
        if generation is None:
            client.set(key, uuid.uuid4().hex, nx=True)
            generation = client.get(key)
    except redis.RedisError:
        return None
    return cast(bytes | None, generation)


def generation_start(key: str) -> bool:
    """Replace the generation under `key`; False when Redis did not answer (nobody was told)."""
    client = redis_connection()
    if client is None:
        return True
    try:
        client.set(key, uuid.uuid4().hex)
    except redis.RedisError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RedisCondition:
    """A write's condition: Redis holds `value` under `key` (a generation, say)."""

    key: str
    value: bytes | str


class ConditionFailedError(Exception):
    """A write's RedisCondition did not hold (or Redis did not answer the check): nothing was
    written. Whoever set the condition makes it current and writes again."""


@dataclass(slots=True)
class RedisCount:
    """One more under `key`, a Redis integer that expires `seconds` after its latest count
    (INCR, then EXPIRE). A write that adds it in its own round trip sets `sent`."""

    key: str
    seconds: int
    sent: bool = False


def condition_check(condition: RedisCondition) -> None:
    """Raise ConditionFailedError unless the condition holds: one round trip, for a write that
    cannot carry the condition to Redis itself."""
    if generation_read(condition.key) != condition.value:
        raise ConditionFailedError(f"{condition.key} has moved on")
