"""Roaming background work: scheduled pulls, batched status pushes, command timeouts, holds
for sessions that charge without one. Safe to run twice."""

import random

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from redis import RedisError

from payments.gateway import PaymentError
from roaming.errors import PartnerError
from roaming.models import ChargingSession, Partner
from roaming.selectors import partners_due_for_sync
from roaming.services import partner_sync
from roaming.services.sessions import commands_expire, session_hold_ensure
from roaming.status_pushes import status_pushes_apply


@shared_task(bind=True, max_retries=5)
def partner_sync_task(self: Task[..., None], partner_id: int, full: bool = False) -> None:
    """Pull one partner. Transient failures retry with jittered exponential backoff (kept well
    under the broker's visibility timeout); permanent ones are recorded on the run and stop."""
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        return
    try:
        partner_sync(partner=partner, full=full)
    except PartnerError as error:
        if error.permanent:
            return
        countdown = min(600, 30 * 2**self.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def partners_sync_due() -> int:
    """Every minute from beat: queue the delta and nightly full pulls that are due."""
    due = partners_due_for_sync(
        now=timezone.now(),
        delta_every=settings.ROAMING_DELTA_SYNC_INTERVAL,
        full_every=settings.ROAMING_FULL_SYNC_INTERVAL,
    )
    for partner_id, full in due:
        partner_sync_task.delay(partner_id, full)
    return len(due)


@shared_task(bind=True, max_retries=8)
def evse_status_pushes_apply(self: Task[..., int]) -> int:
    """Apply the status pushes queued by the receiver (see roaming.status_pushes). When the
    database or Redis fails, the pushes stay queued and this runs again with jittered
    exponential backoff (the next push schedules a drain too)."""
    try:
        return status_pushes_apply()
    except (DatabaseError, RedisError) as error:
        countdown = min(60, 2**self.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def commands_expire_task() -> int:
    """Every ~15 s from beat: end commands whose result is overdue (a start times out and
    releases its hold), give up starts the bank never confirmed, retry owed hold releases."""
    return commands_expire()


@shared_task(bind=True, max_retries=8)
def session_hold_ensure_task(self: Task[..., None], session_id: int) -> None:
    """Place a hold for a session charging without one (started at the charger, or revived
    after a timeout). The payment provider unreachable: retry with backoff."""
    session = ChargingSession.objects.filter(pk=session_id).first()
    if session is None:
        return
    try:
        session_hold_ensure(session=session)
    except PaymentError as error:
        countdown = min(600, 10 * 2**self.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
        raise self.retry(exc=error, countdown=countdown) from error
