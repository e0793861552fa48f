"""How many objects each partner pushed to us: per-minute counters, summed for the admin.

With Redis (REDIS_URL), a counter is a Redis integer of ours, written with INCR and read with
MGET on the shared connection (config.redis_connection), named through the cache's key prefix
so tests and sites sharing a Redis keep theirs apart; a status push's increment travels in the
same round trip as the queued change (a RedisCount the status queue's script adds). Without
Redis (the embedded default) the counters live in Django's local-memory cache. Either way, a
counter that fails loses a count, never a push.
"""

import logging
from datetime import datetime

from django.core.cache import cache
from redis import RedisError

from config.redis_connection import RedisCount, redis_connection
from roaming.models import Partner

logger = logging.getLogger(__name__)

PUSH_COUNT_SECONDS = 3900  # the admin sums the last hour's per-minute counters


def _name(partner_id: int, minute: int) -> str:
    return f"roaming:pushes:{partner_id}:{minute}"


def _this_minute(now: datetime) -> int:
    return int(now.timestamp() // 60)


def _count(partner: Partner, now: datetime) -> RedisCount:
    return RedisCount(cache.make_key(_name(partner.pk, _this_minute(now))), PUSH_COUNT_SECONDS)


def push_count(*, partner: Partner, now: datetime) -> RedisCount | None:
    """The count of one more push this minute for the partner, for a write to add in its own
    round trip (`evse_status_submit` takes it) or for `push_count_record`; None without Redis."""
    return _count(partner, now) if redis_connection() is not None else None


def push_count_record(*, partner: Partner, now: datetime, count: RedisCount | None = None) -> None:
    """Count one push: add `count` (from push_count) unless a write sent it already, or count in
    the local cache without Redis. A cache outage only loses the count."""
    client = redis_connection()
    if client is None:
        name = _name(partner.pk, _this_minute(now))
        if not cache.add(name, 1, timeout=PUSH_COUNT_SECONDS):
            cache.incr(name)
        return
    if count is None:
        count = _count(partner, now)
    if count.sent:
        return
    pipeline = client.pipeline(transaction=False)
    pipeline.incr(count.key)
    pipeline.expire(count.key, count.seconds)
    try:
        pipeline.execute()
    except RedisError:
        logger.warning("push counter unavailable: the cache did not answer")


def push_counts(*, partner_ids: list[int], now: datetime) -> dict[int, int]:
    """How many objects each partner pushed to us in the last hour."""
    minute = _this_minute(now)
    names = {_name(pid, m): pid for pid in partner_ids for m in range(minute - 59, minute + 1)}
    counts = dict.fromkeys(partner_ids, 0)
    client = redis_connection()
    if client is None:
        values = list(cache.get_many(list(names)).items())
    else:
        try:
            found = client.mget([cache.make_key(name) for name in names])
        except RedisError:
            logger.warning("push counts unavailable: the cache did not answer")
            return counts
        values = list(zip(names, found, strict=True))
    for name, value in values:
        if value is not None:
            counts[names[name]] += int(value)
    return counts
