"""Refunds on captured payments, always with an explicit amount and a reason."""

import hashlib
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from payments import gateway
from payments.gateway import PaymentError
from payments.models import Payment, PaymentLogEntry, Refund
from payments.money import format_money

# A pending refund older than this is taken over: looked up at Stripe, then re-sent (under the
# same idempotency key) if Stripe has none.
STALE_AFTER = timedelta(minutes=2)


def refundable_amount(payment: Payment) -> int:
    """What can still be refunded: captured minus refunds issued or in flight."""
    refunded = (
        payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return payment.amount_captured - refunded


def refund_issue(
    *,
    payment: Payment,
    amount: int,
    reason: str,
    created_by: User | None = None,
    request_id: str = "",
) -> Refund:
    """Refund `amount` (minor units) of a captured payment, for `reason`.

    The same refund asked twice is issued once: a request is identified by `request_id` (e.g. a
    form's one-time token), or, without one, by the payment, amount and reason. A second call
    returns the first refund. A refund left pending by a dead worker is looked up at Stripe
    before it is sent again.
    """
    reason = reason.strip()
    if not reason:
        raise PaymentError("Say why you refund; the driver sees it.", code="reason_missing")
    if amount <= 0:
        raise PaymentError("A refund must be more than 0.", code="bad_amount")
    request_id = request_id or hashlib.sha256(f"{amount}:{reason}".encode()).hexdigest()[:24]
    key = f"refund-{payment.pk}-{request_id}"
    refund = Refund.objects.filter(idempotency_key=key).first()
    if refund is None:
        refund = _refund_claim(payment, amount=amount, reason=reason, key=key, by=created_by)
    elif refund.status == Refund.Status.PENDING:
        now = timezone.now()
        # Take the stale attempt over (one caller wins the conditional update), then ask
        # Stripe first: its worker may have died after Stripe made the refund.
        if now - refund.updated_at < STALE_AFTER or not Refund.objects.filter(
            pk=refund.pk, status=Refund.Status.PENDING, updated_at=refund.updated_at
        ).update(updated_at=now):
            raise PaymentError(
                "This refund is being issued right now.", code="in_progress", retryable=True
            )
        earlier = _earlier(
            refund, gateway.refund_list(refund.payment.stripe_payment_intent_id or "")
        )
        if earlier is not None:
            return _refund_record(refund, earlier)
    if refund.status == Refund.Status.SUCCEEDED:
        return refund
    if refund.status == Refund.Status.FAILED:
        raise PaymentError(refund.failure_message, code="refund_failed")
    return _refund_send(refund)


def _refund_claim(
    payment: Payment, *, amount: int, reason: str, key: str, by: User | None
) -> Refund:
    try:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.status != Payment.Status.CAPTURED:
                raise PaymentError(
                    "Only a captured payment can be refunded.", code="not_refundable"
                )
            available = refundable_amount(locked)
            if amount > available:
                raise PaymentError(
                    f"At most {format_money(available, locked.currency)} can still be refunded.",
                    code="refund_too_large",
                )
            return Refund.objects.create(
                payment=locked,
                amount=amount,
                currency=locked.currency,
                reason=reason,
                idempotency_key=key,
                created_by=by,
            )
    except IntegrityError:
        raise PaymentError(
            "This refund is being issued right now.", code="in_progress", retryable=True
        ) from None


def _refund_send(refund: Refund) -> Refund:
    payment = refund.payment
    pi_id = payment.stripe_payment_intent_id or ""
    try:
        result = gateway.refund_create(
            payment_intent_id=pi_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={"refund_id": str(refund.pk), "reason": refund.reason[:450]},
        )
    except PaymentError as exc:
        # Did an earlier attempt get through after all?
        earlier = _earlier(refund, _stripe_refunds(pi_id))
        if earlier is None:
            if not exc.retryable:
                refund.status = Refund.Status.FAILED
                refund.failure_message = exc.message
                refund.save()
            raise
        result = earlier
    return _refund_record(refund, result)


def _refund_record(refund: Refund, result: gateway.Refund) -> Refund:
    """Write down the Stripe refund made for our row."""
    payment = refund.payment
    refund.stripe_refund_id = result.id
    refund.status = (
        Refund.Status.SUCCEEDED if result.status in ("succeeded", "pending") else refund.status
    )
    refund.save()
    PaymentLogEntry.objects.create(
        payment=payment,
        action="refunded",
        message=f"{format_money(refund.amount, refund.currency)}: {refund.reason}",
    )
    return refund


def _stripe_refunds(payment_intent_id: str) -> list[gateway.Refund]:
    try:
        return gateway.refund_list(payment_intent_id)
    except PaymentError:
        return []


def _earlier(refund: Refund, stripe_refunds: list[gateway.Refund]) -> gateway.Refund | None:
    """The Stripe refund an earlier attempt made for this row, if any."""
    return next(
        (
            r
            for r in stripe_refunds
            if r.metadata.get("refund_id") == str(refund.pk)
            and not Refund.objects.filter(stripe_refund_id=r.id).exists()
        ),
        None,
    )


@transaction.atomic
def refunds_sync(*, payment: Payment) -> list[Refund]:
    """Record refunds made outside this app (e.g. in Stripe's Dashboard) for a payment."""
    created = []
    for stripe_refund in _stripe_refunds(payment.stripe_payment_intent_id or ""):
        if Refund.objects.filter(stripe_refund_id=stripe_refund.id).exists():
            continue
        ours = stripe_refund.metadata.get("refund_id", "")
        # Metadata is free text (another tool may set refund_id too): only our ids can match.
        local = (
            payment.refunds.filter(pk=ours, stripe_refund_id=None).first()
            if ours.isascii() and ours.isdigit()
            else None
        )
        if local is not None:
            local.stripe_refund_id = stripe_refund.id
            local.status = Refund.Status.SUCCEEDED
            local.save()
            continue
        created.append(
            Refund.objects.create(
                payment=payment,
                amount=stripe_refund.amount,
                currency=stripe_refund.currency,
                reason="Refunded at Stripe",
                status=Refund.Status.SUCCEEDED,
                stripe_refund_id=stripe_refund.id,
                idempotency_key=f"stripe-{stripe_refund.id}",
            )
        )
    return created
