"""EVSE status changes, the bulk of what partners send: queued, then applied in batches.

One transaction per pushed status costs far more than the change itself. With Redis (the
production setup), `evse_status_submit` checks that we hold the EVSE (known_evses.py), appends
the change to a Redis list and returns at once; a Celery task scheduled a moment later applies
everything queued through the batched path (statuses.py, a handful of queries per batch), so a
change is on the map well within a second. Without Redis, or with Celery eager (the embedded
default, tests), a change is applied at once. Stale EVSEs in a batch, and any deleted since
their change was queued, are skipped.

A change we took is not lost on the way: a drain reads a batch at the head of the queue and
removes it only after the catalogue committed it. When the database refuses (a lock timeout, a
failover), the batch stays at the head and the task runs again with backoff; when the worker
dies, the first drain after its lease ran out (DRAIN_LEASE_MS) applies it. Applying a batch
twice is harmless: the newest `last_updated` wins and an equal one rewrites the same status.
For that, one drain works at a time, under a lease in Redis that it renews with every batch;
it removes a batch only while the lease is still its own, so a drain that overran its lease
never removes what the next one read. (Celery may run several drains at once: the others find
the lease taken and leave the queue to its holder.)
"""

import logging
import uuid
from collections import defaultdict
from datetime import datetime
from functools import cache
from typing import cast

import orjson
import redis
from redis.commands.core import Script

from config.celery import app as celery_app
from config.redis_connection import (
    ConditionFailedError,
    RedisCondition,
    RedisCount,
    condition_check,
    redis_connection,
)
from locator.catalogue.errors import CatalogueUnavailableError
from locator.catalogue.known_evses import evse_known
from locator.catalogue.objects import catalogue_evse_patch
from locator.catalogue.records import EvseStatusUpdate, Patch
from locator.catalogue.statuses import evse_statuses_apply

logger = logging.getLogger(__name__)

# Named when the queue lived in roaming, and kept: changes queued by the release before are
# still drained by this one.
QUEUE_KEY = "roaming:evse-status-pushes"
DRAIN_SCHEDULED_KEY = "roaming:evse-status-pushes:drain-scheduled"
DRAIN_LEASE_KEY = "roaming:evse-status-pushes:drain-lease"
DRAIN_DELAY_SECONDS = 0.2
DRAIN_LEASE_MS = 60_000  # renewed with every batch, which takes well under a second
BATCH = 1000

# KEYS: queue, lease; ARGV: our lease token, how many items to drop, lease length (ms).
DROP_IF_LEASED = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[1], ARGV[2], -1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""
# KEYS: lease; ARGV: our lease token.
RELEASE_IF_LEASED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""
# KEYS: queue, drain scheduled, the condition's key, the count's key; ARGV: the change, drain
# delay (ms), the value the condition's key must hold ('': no condition), the count's expiry
# (s; '': no count). Returns -1 when the condition does not hold (nothing queued or counted),
# 1 when this change schedules the drain, else 0.
QUEUE_IF = """
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
if ARGV[4] ~= '' then
  redis.call('INCR', KEYS[4])
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""


@cache
def queue_script(client: redis.Redis) -> Script:
    """QUEUE_IF, sent by its digest (EVALSHA) and loaded into Redis when Redis lacks it."""
    return client.register_script(QUEUE_IF)


def evse_status_submit(
    *,
    source: str,
    update: EvseStatusUpdate,
    count: RedisCount | None = None,
    condition: RedisCondition | None = None,
) -> bool:
    """Take a pushed EVSE status: queued for the next batch when batching is on and we hold the
    EVSE (returns at once), else applied now. Returns False, changing nothing, when what we
    hold is newer (known only when applied now: a queued change that turns out stale is
    skipped by its batch).

    `count`: the caller's counter, added in the same round trip as a queued change (and marked
    `sent`) unless the condition does not hold; left to the caller when the change is applied
    now. `condition`: taken only if it holds, checked in that same round trip (the caller's
    check that what it authenticated the sender from is current, say). Raises
    UnknownObjectError for an EVSE or location we do not hold, CatalogueUnavailableError when
    the queue (Redis) does not answer, ConditionFailedError when the condition does not hold:
    nothing was stored or counted then.
    """
    evse = {
        "source": source,
        "country_code": update.country_code,
        "party_id": update.party_id,
        "location_id": update.location_id,
        "evse_uid": update.evse_uid,
    }
    client = redis_connection()
    if client is not None and not celery_app.conf.task_always_eager and evse_known(**evse):
        _queue(client, evse, update, count, condition)
        return True
    if condition is not None:
        condition_check(condition)
    status = Patch(last_updated=update.last_updated, changes={"status": update.status})
    return catalogue_evse_patch(**evse, patch=status)


def _queue(
    client: redis.Redis,
    evse: dict[str, str],
    update: EvseStatusUpdate,
    count: RedisCount | None,
    condition: RedisCondition | None,
) -> None:
    """Queue a change if the condition holds, count it and schedule a drain unless one is due:
    one round trip."""
    item = {**evse, "status": update.status, "last_updated": update.last_updated.isoformat()}
    if count is not None:
        count.sent = True  # a count lost with a Redis failure is not sent again
    try:
        queued = queue_script(client)(
            (
                QUEUE_KEY,
                DRAIN_SCHEDULED_KEY,
                condition.key if condition else QUEUE_KEY,
                count.key if count else QUEUE_KEY,
            ),
            (
                orjson.dumps(item),
                int(DRAIN_DELAY_SECONDS * 1000),
                condition.value if condition else "",
                count.seconds if count else "",
            ),
        )
    except redis.RedisError as error:
        raise CatalogueUnavailableError(
            "The status queue is unavailable; nothing was stored, send the change again shortly."
        ) from error
    if queued == -1:
        raise ConditionFailedError(f"{condition and condition.key} has moved on")
    if queued == 1:  # this change scheduled the drain
        celery_app.send_task(
            "locator.tasks.catalogue_evse_statuses_apply", countdown=DRAIN_DELAY_SECONDS
        )


def evse_statuses_queued_apply() -> int:
    """Apply every queued status change, a batch at a time; returns how many it took off the
    queue.

    Returns at once when another drain holds the lease: that one looks at the queue again
    after letting go of it, so a push queued meanwhile does not wait for the next push's drain.
    Raises what the database or Redis raised; whatever was not applied stays queued."""
    client = redis_connection()
    if client is None:  # nothing is queued without Redis
        return 0
    applied = 0
    while True:
        token = uuid.uuid4().hex
        if not client.set(DRAIN_LEASE_KEY, token, nx=True, px=DRAIN_LEASE_MS):
            return applied
        try:
            applied += _drain(client, token)
        finally:
            client.eval(RELEASE_IF_LEASED, 1, DRAIN_LEASE_KEY, token)
        if not client.llen(QUEUE_KEY):
            return applied


def _drain(client: redis.Redis, token: str) -> int:
    applied = 0
    while items := cast(list[bytes], client.lrange(QUEUE_KEY, 0, BATCH - 1)):
        _batch_apply(items)
        if not client.eval(
            DROP_IF_LEASED, 2, QUEUE_KEY, DRAIN_LEASE_KEY, token, len(items), DRAIN_LEASE_MS
        ):
            break  # the lease ran out: whoever holds it now applies these again and drops them
        applied += len(items)
    return applied


def _batch_apply(items: list[bytes]) -> None:
    """One catalogue transaction per source. Should a later one fail, the whole batch stays
    queued and the sources already committed are applied again, harmlessly. An item this
    release cannot read (queued by another one) is dropped with an error in the log: kept, it
    would stop every drain at the head of the queue."""
    by_source: dict[str, list[EvseStatusUpdate]] = defaultdict(list)
    for raw in items:
        try:
            item = orjson.loads(raw)
            item["last_updated"] = datetime.fromisoformat(item["last_updated"])
            by_source[item.pop("source")].append(EvseStatusUpdate(**item))
        except (ValueError, TypeError, KeyError):
            logger.error("dropped a queued status push that cannot be read: %r", raw[:300])
    for source, updates in by_source.items():
        evse_statuses_apply(source=source, updates=updates)
