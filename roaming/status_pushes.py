"""EVSE status pushes, the bulk of what partners send, applied in batches.

One transaction per pushed status costs far more than the change itself. With Redis (the
production setup), the receiver validates a status PATCH, appends it to a Redis list and
answers at once; a Celery task scheduled a moment later applies everything queued through the
catalogue's batched status path (a handful of queries per batch), so a change is on the map
well within a second. Without Redis (the embedded default), pushes apply in the request.
Stale or unknown EVSEs in a batch are skipped by the catalogue (the next pull brings them).
"""

from collections import defaultdict
from typing import cast

import orjson
from redis.client import Pipeline

from config.celery import app as celery_app
from locator.catalogue import EvseStatusUpdate
from locator.services import catalogue_evse_statuses_update
from roaming.ocpi.transport import ocpi_datetime_parse, ocpi_timestamp
from roaming.redis_connection import redis_connection

QUEUE_KEY = "roaming:evse-status-pushes"
DRAIN_SCHEDULED_KEY = "roaming:evse-status-pushes:drain-scheduled"
DRAIN_DELAY_SECONDS = 0.2
BATCH = 1000


def status_push_accept(*, source: str, update: EvseStatusUpdate, pipeline: Pipeline) -> bool:
    """Queue a status push when batching is on; False means: apply it now, in the request.

    The push goes out on `pipeline`, with whatever the caller put in it: one round trip."""
    if celery_app.conf.task_always_eager:
        return False
    item = {
        "source": source,
        "country_code": update.country_code,
        "party_id": update.party_id,
        "location_id": update.location_id,
        "evse_uid": update.evse_uid,
        "status": update.status,
        "last_updated": ocpi_timestamp(update.last_updated),
    }
    pipeline.rpush(QUEUE_KEY, orjson.dumps(item))
    pipeline.set(DRAIN_SCHEDULED_KEY, 1, nx=True, px=int(DRAIN_DELAY_SECONDS * 1000))
    *_, drain_is_ours = pipeline.execute()
    if drain_is_ours:
        celery_app.send_task(
            "roaming.tasks.evse_status_pushes_apply", countdown=DRAIN_DELAY_SECONDS
        )
    return True


def status_pushes_apply() -> int:
    """Apply every queued status push, a batch at a time; returns how many were taken.

    Safe to run concurrently: each item is popped by exactly one runner."""
    client = redis_connection()
    if client is None:  # nothing is queued without Redis
        return 0
    taken = 0
    while items := cast(list[bytes] | None, client.lpop(QUEUE_KEY, BATCH)):
        by_source: dict[str, list[EvseStatusUpdate]] = defaultdict(list)
        for raw in items:
            item = orjson.loads(raw)
            item["last_updated"] = ocpi_datetime_parse(item["last_updated"])
            by_source[item.pop("source")].append(EvseStatusUpdate(**item))
        for source, updates in by_source.items():
            catalogue_evse_statuses_update(source=source, updates=updates)
        taken += len(items)
    return taken
