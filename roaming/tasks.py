"""Roaming background work: scheduled pulls, command timeouts, holds for sessions that charge
without one, billing CDRs and the nightly billing reconciliation, driver token pushes and their
reconciliation. Safe to run twice."""

import random
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from config.outbox import task_enqueue
from payments.gateway import PaymentError
from roaming.errors import PartnerError
from roaming.models import ChargeDetailRecord, ChargingSession, Partner
from roaming.selectors import partners_due_for_sync
from roaming.services import partner_sync
from roaming.services.billing_reconcile import billing_reconcile
from roaming.services.cdrs import cdr_bill, cdr_hold, cdrs_missing_find, cdrs_unbilled_requeue
from roaming.services.sessions import commands_expire, session_hold_ensure, session_late_stop
from roaming.services.tokens import driver_token_push, driver_tokens_reconcile


def retry_unless_permanent(task: Task[..., Any], error: PartnerError) -> None:
    """After a failed partner call: stop on a permanent error (already recorded), retry a
    transient one with jittered exponential backoff from 30 s up to 10 minutes (kept well under
    the broker's visibility timeout)."""
    if error.permanent:
        return
    countdown = min(600, 30 * 2**task.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
    raise task.retry(exc=error, countdown=countdown) from error


@shared_task(bind=True, max_retries=5)
def partner_sync_task(self: Task[..., None], partner_id: int, full: bool = False) -> None:
    """Pull one partner. Transient failures retry with backoff; permanent ones are recorded on
    the run and stop."""
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        return
    try:
        partner_sync(partner=partner, full=full)
    except PartnerError as error:
        retry_unless_permanent(self, error)


@shared_task
def partners_sync_due() -> int:
    """Every minute from beat: queue the delta and nightly full pulls that are due."""
    due = partners_due_for_sync(
        now=timezone.now(),
        delta_every=settings.ROAMING_DELTA_SYNC_INTERVAL,
        full_every=settings.ROAMING_FULL_SYNC_INTERVAL,
    )
    for partner_id, full in due:
        task_enqueue(partner_sync_task, partner_id, full)
    return len(due)


@shared_task(bind=True, max_retries=8)
def cdr_bill_task(self: Task[..., str], cdr_id: int) -> str:
    """Bill one stored CDR (`cdr_bill`). While Stripe is unreachable, retry with jittered
    exponential backoff, and after the last try the CDR waits for an admin. While another
    worker holds the payment (a copy of this task, or one that died mid-capture), retry once
    its claim ends; after the last try leave the CDR to that worker (or to the sweep,
    `cdrs_unbilled_requeue`)."""
    cdr = ChargeDetailRecord.objects.filter(pk=cdr_id).first()
    if cdr is None:
        return "gone"
    try:
        return cdr_bill(cdr=cdr).billing
    except PaymentError as error:
        last = self.request.retries >= (self.max_retries or 0)
        jitter = random.uniform(0.5, 1.0)  # noqa: S311
        if error.retry_after is not None:
            if last:
                return str(ChargeDetailRecord.Billing.PENDING)
            countdown = error.retry_after + jitter
        elif last:
            cdr_hold(cdr=cdr, message=f"The capture kept failing: {error.message}")
            return str(ChargeDetailRecord.Billing.REVIEW)
        else:
            countdown = min(600, 5 * 2**self.request.retries) * jitter
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def cdrs_missing_find_task() -> int:
    """From beat: look for the CDRs of sessions that ended a while ago without one, on the
    partners' CDRs senders, and flag to an admin those still missing."""
    return cdrs_missing_find()


@shared_task
def cdrs_unbilled_requeue_task() -> int:
    """Every 10 minutes from beat: queue again the billing of CDRs whose billing task was lost
    (see `cdrs_unbilled_requeue`)."""
    return cdrs_unbilled_requeue()


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


@shared_task(bind=True, max_retries=8)
def session_late_stop_task(self: Task[..., None], session_id: int) -> None:
    """Stop a charge that began after we gave up on its start. The partner unreachable: retry
    with backoff (the driver is told it still charges and may press Stop)."""
    try:
        session_late_stop(session_id=session_id)
    except PartnerError as error:
        retry_unless_permanent(self, error)


@shared_task(bind=True, max_retries=8)
def driver_token_push_task(self: Task[..., None], token_id: int, partner_id: int) -> None:
    """Send one driver token, as it is now, to one partner's tokens receiver. Transient failures
    retry with backoff; permanent ones are recorded on the partner and stop."""
    try:
        driver_token_push(token_id=token_id, partner_id=partner_id)
    except PartnerError as error:
        retry_unless_permanent(self, error)


@shared_task
def driver_tokens_reconcile_task() -> tuple[int, int]:
    """Every minute from beat: issue the tokens of drivers who saved a first card, and store and
    push every token whose standing changed (see roaming.services.tokens)."""
    return driver_tokens_reconcile()


@shared_task(bind=True, max_retries=5)
def billing_reconcile_task(self: Task[..., int]) -> int:
    """Nightly from beat: compare the partners' CDRs, ours and Stripe's captures, and report
    each new difference to admins. Stripe unreachable: retry with backoff."""
    try:
        return len(billing_reconcile())
    except PaymentError as error:
        countdown = min(3600, 60 * 2**self.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
        raise self.retry(exc=error, countdown=countdown) from error
