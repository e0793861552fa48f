"""Bringing our rows in line with Stripe: webhooks, the authentication page, reconciliation.

Webhooks can arrive twice and out of order, so no handler trusts the event's snapshot: each
re-reads the Stripe object and applies its current state (`payment_sync`).
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from config.outbox import task_enqueue
from payments import gateway
from payments.gateway import PaymentError
from payments.models import BillingAccount, Payment, PaymentLogEntry, WebhookEvent
from payments.services.cards import payment_method_save
from payments.services.holds import (
    _apply,
    _claim_stale_and_resync,
    _is_locked,
    hold_capture,
    hold_release,
    status_from_stripe,
)
from payments.services.refunds import refunds_sync

logger = logging.getLogger(__name__)
Status = Payment.Status


def payment_sync(*, payment: Payment, source: str) -> Payment:
    """Apply the PaymentIntent's current state to a payment that is not final.

    A payment another worker is calling Stripe for is left alone (that call writes the result).
    A final payment whose Stripe state differs is not moved; the difference is logged and
    reported (see `payments_reconcile`).
    """
    payment.refresh_from_db()
    if not payment.stripe_payment_intent_id or _is_locked(payment):
        return payment
    pi = gateway.payment_intent_retrieve(payment.stripe_payment_intent_id)
    target = status_from_stripe(pi)
    if target == payment.status:
        return payment
    if payment.is_final:
        _mismatch_log(payment, target, source)
        return payment
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.is_final or _is_locked(locked):
            return locked
        return _apply(locked, pi, note=f"{source}: Stripe reports {pi.status}")


def _mismatch_log(payment: Payment, target: str, source: str) -> None:
    message = f"{source}: ours is {payment.status}, Stripe's is {target}"
    logger.warning("payment %s differs from Stripe: %s", payment.pk, message)
    if not payment.log.filter(action="mismatch", message=message).exists():
        PaymentLogEntry.objects.create(payment=payment, action="mismatch", message=message)


@transaction.atomic
def webhook_event_record(*, event: gateway.Event) -> tuple[WebhookEvent, bool]:
    """Store a verified event once; the second delivery of an id returns (row, False).

    Its processing is queued in the outbox in the same transaction, so the endpoint answers
    at once, with the broker down too, and the event is processed once the broker takes it.
    """
    from payments.tasks import webhook_event_process  # the task module imports services

    try:
        with transaction.atomic():
            row, created = WebhookEvent.objects.get_or_create(
                stripe_event_id=event.id,
                defaults={
                    "type": event.type,
                    "object_id": event.object_id,
                    "payload": event.payload,
                },
            )
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_event_id=event.id), False
    if created:
        task_enqueue(webhook_event_process, row.pk)
    return row, created


def _payment_for_intent(payment_intent_id: str) -> Payment | None:
    return Payment.objects.filter(stripe_payment_intent_id=payment_intent_id).first()


def _on_payment_intent(event: WebhookEvent) -> str:
    payment = _payment_for_intent(event.object_id)
    if payment is None:
        return "no payment of ours has this PaymentIntent"
    payment = payment_sync(payment=payment, source=f"webhook {event.type}")
    return f"payment {payment.pk} is {payment.status}"


def _on_charge_refunded(event: WebhookEvent) -> str:
    pi_id = gateway.charge_payment_intent_id(event.object_id)
    payment = _payment_for_intent(pi_id) if pi_id else None
    if payment is None:
        return "no payment of ours has this charge"
    created = refunds_sync(payment=payment)
    return f"payment {payment.pk}: {len(created)} refund(s) recorded from Stripe"


def _on_setup_intent_succeeded(event: WebhookEvent) -> str:
    setup_intent = gateway.setup_intent_retrieve(event.object_id)
    if not setup_intent.customer:
        # Not one of ours (we always set a customer); filtering on None would match every
        # account that has no Stripe customer yet.
        return "the card setup has no customer"
    account = BillingAccount.objects.filter(stripe_customer_id=setup_intent.customer).first()
    if account is None or setup_intent.status != "succeeded":
        return "no account of ours has this customer"
    card = payment_method_save(user=account.user, setup_intent_id=setup_intent.id)
    return f"card {card.pk} saved"


HANDLERS = {
    "payment_intent.succeeded": _on_payment_intent,
    "payment_intent.payment_failed": _on_payment_intent,
    "payment_intent.canceled": _on_payment_intent,
    "payment_intent.amount_capturable_updated": _on_payment_intent,
    "payment_intent.requires_action": _on_payment_intent,
    "charge.refunded": _on_charge_refunded,
    "setup_intent.succeeded": _on_setup_intent_succeeded,
}


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Handle a stored event once. Running it again for a processed event changes nothing.

    A retryable failure (Stripe unreachable) is re-raised so the task retries; any other error,
    a bug included, is recorded on the row (status failed) and stops.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return event
        event.attempts += 1
        event.save(update_fields=["attempts"])
    handler = HANDLERS.get(event.type)
    if handler is None:
        event.status = WebhookEvent.Status.IGNORED
    else:
        try:
            event.error = handler(event)
            event.status = WebhookEvent.Status.PROCESSED
        except PaymentError as exc:
            event.status = WebhookEvent.Status.FAILED
            event.error = f"{exc.code}: {exc.detail or exc.message}"
            event.save(update_fields=["status", "error"])
            if exc.retryable:
                raise
            return event
        except Exception as exc:
            # A bug or an object we cannot read: recorded on the row (the admin can process it
            # again once fixed), so it neither vanishes nor stops the relay.
            logger.exception("processing Stripe event %s failed", event.stripe_event_id)
            event.status = WebhookEvent.Status.FAILED
            event.error = f"{type(exc).__name__}: {exc}"
            event.save(update_fields=["status", "error"])
            return event
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "error", "processed_at"])
    return event


@dataclass(frozen=True)
class Difference:
    payment_id: int
    reference: str
    ours: str
    stripes: str


@dataclass
class ReconcileReport:
    captured: list[int]
    released: list[int]
    resynced: list[int]
    differences: list[Difference]

    def as_dict(self) -> dict[str, Any]:
        return {
            "captured": self.captured,
            "released": self.released,
            "resynced": self.resynced,
            "differences": [d.__dict__ for d in self.differences],
        }


def payments_reconcile(*, now: Any = None) -> ReconcileReport:
    """The sweeper (run from beat): settle what would otherwise be lost, report the rest.

    1. Holds whose capture deadline is within PAYMENTS_HOLD_SWEEP_MARGIN and that still wait
       for a final amount are captured at the caller's estimate (at most the hold), or released
       when there is none; the payment's log says why.
    2. Driver authentications left unfinished past PAYMENTS_AUTHENTICATION_TIMEOUT are
       cancelled.
    3. Payments left mid-call by a dead worker are re-read from Stripe; a charge above a
       captured hold that never reached Stripe is made.
    4. Every payment of the last days is compared with Stripe; differences are returned.
    """
    now = now or timezone.now()
    report = ReconcileReport(captured=[], released=[], resynced=[], differences=[])
    due = Payment.objects.filter(
        status=Status.REQUIRES_CAPTURE,
        kind=Payment.Kind.HOLD,
        capture_before__lte=now + settings.PAYMENTS_HOLD_SWEEP_MARGIN,
    )
    for payment in due:
        deadline = f"capture deadline {payment.capture_before:%Y-%m-%d %H:%M} UTC is near"
        try:
            if payment.estimated_amount:
                amount = min(payment.estimated_amount, payment.amount)
                _sweep_log(payment, f"{deadline}; no final amount yet: capturing the estimate")
                hold_capture(payment=payment, amount=amount)
                report.captured.append(payment.pk)
            else:
                _sweep_log(payment, f"{deadline}; no final amount and no estimate: releasing")
                hold_release(payment=payment, reason="Released before the hold expired.")
                report.released.append(payment.pk)
        except PaymentError as exc:
            logger.warning("sweeping payment %s failed: %s", payment.pk, exc.detail or exc)
    abandoned = Payment.objects.filter(
        status=Status.REQUIRES_ACTION,
        updated_at__lt=now - settings.PAYMENTS_AUTHENTICATION_TIMEOUT,
    )
    for payment in abandoned:
        try:
            hold_release(payment=payment, reason="The driver did not complete authentication.")
            report.released.append(payment.pk)
        except PaymentError as exc:
            logger.warning("releasing payment %s failed: %s", payment.pk, exc.detail or exc)
    stuck = Payment.objects.filter(
        Q(status__in=(Status.PENDING, Status.CAPTURING, Status.RELEASING)),
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
    ).select_related("parent")
    for payment in stuck:
        try:
            if payment.status == Status.CAPTURING:
                hold_capture(payment=payment, amount=payment.amount_to_capture or 0)
            elif payment.status == Status.RELEASING:
                # Someone decided to release it: finish that rather than adopt Stripe's state.
                hold_release(payment=payment, reason="finished an interrupted release")
            elif payment.stripe_payment_intent_id:
                _claim_stale_and_resync(payment)
            elif payment.parent is not None:
                # A charge above a captured hold that never reached Stripe: it is owed.
                hold_capture(payment=payment.parent, amount=payment.parent.amount_to_capture or 0)
            else:
                continue  # never reached Stripe; the caller's retry places it
            report.resynced.append(payment.pk)
        except PaymentError as exc:
            logger.warning("resuming payment %s failed: %s", payment.pk, exc.detail or exc)
    recent = Payment.objects.filter(
        updated_at__gte=now - settings.PAYMENTS_HOLD_LIFETIME - settings.PAYMENTS_HOLD_SWEEP_MARGIN
    ).exclude(stripe_payment_intent_id=None)
    for payment in recent:
        try:
            pi = gateway.payment_intent_retrieve(payment.stripe_payment_intent_id or "")
        except PaymentError as exc:
            logger.warning("reading payment %s from Stripe failed: %s", payment.pk, exc.detail)
            continue
        theirs = status_from_stripe(pi)
        if theirs != payment.status and not _is_locked(payment):
            report.differences.append(
                Difference(payment.pk, payment.reference, payment.status, theirs)
            )
            _mismatch_log(payment, theirs, "reconciliation")
    return report


def _sweep_log(payment: Payment, message: str) -> None:
    PaymentLogEntry.objects.create(payment=payment, action="sweep", message=message)
