"""Background work for the catalogue (thin: each task calls one catalogue function)."""

import random

from celery import Task, shared_task
from django.db import DatabaseError
from redis import RedisError

from locator import catalogue


@shared_task(bind=True, max_retries=None)
def catalogue_grid_refresh(self: Task[..., int]) -> int:
    """Refresh cluster-grid cells that catalogue writes marked dirty. Safe to run twice; when
    another refresh holds the lock, try again in a few seconds (its cells may be newer)."""
    done = catalogue.catalogue_grid_refresh_dirty()
    if done is None:
        raise self.retry(countdown=5)
    if catalogue.catalogue_grid_dirty():
        # More was marked while we worked (a long pull): go round again.
        catalogue_grid_refresh.apply_async(countdown=catalogue.grid_refresh_delay())
    return done


@shared_task(bind=True, max_retries=8)
def catalogue_evse_statuses_apply(self: Task[..., int]) -> int:
    """Apply the EVSE status changes queued by `evse_status_submit` (see
    locator.catalogue.status_queue). When the database or Redis fails, the changes stay queued
    and this runs again with jittered exponential backoff (the next change queued schedules a
    run too)."""
    try:
        return catalogue.evse_statuses_queued_apply()
    except (DatabaseError, RedisError) as error:
        countdown = min(60, 2**self.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
        raise self.retry(exc=error, countdown=countdown) from error
