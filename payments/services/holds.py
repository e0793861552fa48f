"""Holds on a driver's card: place, capture (with a separate charge above the hold), release.

Contract for callers (the charging flow in `roaming` calls these; payments never imports it):

- `hold_place(user=..., reference="session-42", amount=5000, currency="eur")` before START.
  `reference` is the caller's own stable id for what the money is for; one hold per reference.
  Start charging only when the returned payment's status is `requires_capture`. Failures raise
  `PaymentError` with a message for the driver: `card_declined` (and other card codes; asked
  again with the same card, the same error without a new attempt; once the driver has made
  another card the default, the same call tries that card, as a new attempt on the reference),
  `authentication_required` (`error.payment_id` names the payment; send the driver to
  `payments:authenticate` for it, then call `hold_place` again with the same reference),
  `no_payment_method`, `in_progress` / `gateway_unavailable` (retryable: try again later).
- `hold_capture(payment=..., amount=1234)` when the final cost is known: at most the hold is
  captured; above it, the rest is a second, separate charge. 0 releases the hold. A retryable
  error after the hold was captured means the second charge is still owed: call again (the
  hold is not captured twice); `payments_reconcile` also makes it. A hold already released or
  failed cannot be captured (`not_capturable`): the amount is recorded on it as owed.
- `hold_release(payment=...)` when nothing will be charged (a start failed or timed out).
- `hold_estimate_update(payment=..., amount=...)` while charging, so a hold about to expire can
  be captured at the running cost (see `payments_reconcile`).

Every function may be called again with the same arguments: the second call changes nothing.
Concurrency: each Stripe call is preceded by a claim, a conditional UPDATE of the payment's
status (under `select_for_update` on PostgreSQL), so of twenty identical concurrent captures
exactly one reaches Stripe; the others get `in_progress`. No database lock is held while Stripe
is called. A claim whose worker died expires after `LEASE`, and the next call (or the
reconciliation task) re-reads Stripe's PaymentIntent to find out what happened.
"""

import logging
import re

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from payments import gateway
from payments.gateway import PaymentError
from payments.models import BillingAccount, Payment, PaymentLogEntry, Receipt
from payments.money import MINIMUM_CHARGE, format_money

logger = logging.getLogger(__name__)

# Longer than one Stripe call may take (STRIPE_TIMEOUT), so a live worker never loses its claim.
LEASE = settings.PAYMENTS_CLAIM_LEASE
Status = Payment.Status


def _in_progress(payment: Payment) -> PaymentError:
    """Another worker holds the payment: try again once its claim ends."""
    until = payment.locked_until
    held_for = (until - timezone.now()).total_seconds() if until else 0.0
    return PaymentError(
        gettext("This payment is being processed right now. Try again in a moment."),
        code="in_progress",
        retryable=True,
        payment_id=payment.pk,
        retry_after=max(0.0, held_for),
    )


def _log(payment: Payment, action: str, message: str) -> None:
    PaymentLogEntry.objects.create(payment=payment, action=action, message=message)


def _claim(payment: Payment, *, claimable: tuple[str, ...], to: str, **fields: object) -> bool:
    """Take the payment into state `to` for one Stripe call; False when someone else has it.

    The row lock (PostgreSQL) serialises claimants; the conditional UPDATE keeps it correct
    where row locks don't exist (SQLite). An expired claim in state `to` may be taken over.
    """
    now = timezone.now()
    with transaction.atomic():
        Payment.objects.select_for_update().filter(pk=payment.pk).first()
        updated = (
            Payment.objects.filter(pk=payment.pk)
            .filter(
                Q(status__in=claimable)
                | (Q(status=to) & (Q(locked_until__isnull=True) | Q(locked_until__lt=now)))
            )
            .update(status=to, locked_until=now + LEASE, updated_at=now, **fields)
        )
    payment.refresh_from_db()
    return updated == 1


def _is_locked(payment: Payment) -> bool:
    return payment.locked_until is not None and payment.locked_until > timezone.now()


def status_from_stripe(pi: gateway.PaymentIntent) -> str:
    """Our status for a PaymentIntent as Stripe reports it."""
    if pi.status == "requires_payment_method":
        # Real Stripe leaves an off-session PI that needs 3-D Secure here, with this code.
        if pi.last_error_code == "authentication_required":
            return Status.REQUIRES_ACTION
        return Status.FAILED
    return {
        "requires_capture": Status.REQUIRES_CAPTURE,
        "succeeded": Status.CAPTURED,
        "canceled": Status.CANCELED,
        "requires_action": Status.REQUIRES_ACTION,
        "requires_confirmation": Status.REQUIRES_ACTION,
    }.get(pi.status, Status.PENDING)


def _apply(payment: Payment, pi: gateway.PaymentIntent, *, note: str = "") -> Payment:
    """Write Stripe's view of the PaymentIntent onto our row and end any claim."""
    now = timezone.now()
    status = status_from_stripe(pi)
    payment.stripe_payment_intent_id = pi.id
    payment.status = status
    payment.locked_until = None
    if status == Status.REQUIRES_CAPTURE:
        payment.capture_before = pi.capture_before or (
            payment.created_at + settings.PAYMENTS_HOLD_LIFETIME
        )
    elif status == Status.CAPTURED:
        payment.amount_captured = (
            pi.amount_received
            if pi.amount_received is not None
            else min(payment.amount_to_capture or pi.amount, payment.amount)
        )
        payment.captured_at = payment.captured_at or now
    elif status == Status.CANCELED:
        payment.canceled_at = payment.canceled_at or now
    elif status in (Status.FAILED, Status.REQUIRES_ACTION):
        payment.failure_code = pi.last_error_code or (
            "authentication_required" if status == Status.REQUIRES_ACTION else "card_declined"
        )
        payment.failure_message = (
            gateway.CARD_MESSAGES["authentication_required"]
            if status == Status.REQUIRES_ACTION
            else gateway.CARD_MESSAGES.get(payment.failure_code, gateway.DECLINED)
        )
    payment.save()
    if note:
        _log(payment, status, note)
    if status == Status.CAPTURED:
        receipt_write(payment=payment.parent or payment)
    return payment


def _raise_for(payment: Payment) -> None:
    """Raise the driver-facing error for a payment that did not become a hold."""
    if payment.status == Status.REQUIRES_ACTION:
        raise PaymentError(
            gateway.CARD_MESSAGES["authentication_required"],
            code="authentication_required",
            payment_intent_id=payment.stripe_payment_intent_id,
            payment_id=payment.pk,
        )
    if payment.status == Status.FAILED:
        raise PaymentError(
            payment.failure_message or gateway.DECLINED,
            code=payment.failure_code or "card_declined",
            payment_id=payment.pk,
        )


def _validate_amount(amount: int, currency: str) -> None:
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise PaymentError(f"{currency!r} is not a currency code like 'eur'.", code="bad_currency")
    minimum = MINIMUM_CHARGE.get(currency, 1)
    if amount < minimum:
        raise PaymentError(
            f"A hold must be at least {format_money(minimum, currency)}.", code="bad_amount"
        )


def hold_place(*, user: User, reference: str, amount: int, currency: str) -> Payment:
    """Place a hold of `amount` (minor units) on the driver's default card; see the module doc.

    Calling it again for the same reference returns the same payment (or raises the same error)
    without a second hold.
    """
    currency = currency.lower()
    _validate_amount(amount, currency)
    account = BillingAccount.objects.filter(user=user).select_related("default_payment_method")
    billing = account.first()
    card = billing.default_payment_method if billing else None
    attempts = Payment.objects.filter(reference=reference, kind=Payment.Kind.HOLD).order_by("id")
    payment = attempts.last()
    if payment is not None and (billing is None or payment.account_id != billing.pk):
        raise PaymentError("This reference belongs to another account.", code="not_yours")
    if payment is None or (
        # The driver chose another card after a failed attempt: that is a new attempt.
        payment.status == Status.FAILED
        and card is not None
        and payment.payment_method_id != card.pk
    ):
        if billing is None or card is None or not billing.stripe_customer_id:
            raise PaymentError(
                gettext("Add a card in Payment methods before you start a charge."),
                code="no_payment_method",
            )
        number = attempts.count() + 1
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    account=billing,
                    kind=Payment.Kind.HOLD,
                    reference=reference,
                    amount=amount,
                    currency=currency,
                    payment_method=card,
                    card_label=str(card),
                    # hold-<reference>, then hold2-<reference>, ...: never the same for two
                    # attempts or two references.
                    idempotency_key=f"hold-{reference}"
                    if number == 1
                    else f"hold{number}-{reference}",
                    locked_until=timezone.now() + LEASE,
                )
        except IntegrityError:
            # Someone placed this very attempt a moment ago.
            placed = attempts.last()
            assert placed is not None
            raise _in_progress(placed) from None
    else:
        if (payment.amount, payment.currency) != (amount, currency):
            raise PaymentError(
                f"A hold of {payment.amount_label} already exists for {reference}.",
                code="reference_conflict",
                payment_id=payment.pk,
            )
        _raise_for(payment)
        if payment.status != Status.PENDING:
            return payment
        if not _claim(payment, claimable=(), to=Status.PENDING):
            raise _in_progress(payment)
    return _hold_create(payment)


def _hold_create(payment: Payment) -> Payment:
    """The Stripe half of `hold_place`, for a claimed pending payment."""
    card = payment.payment_method
    try:
        pi = gateway.payment_intent_create(
            amount=payment.amount,
            currency=payment.currency,
            customer_id=payment.account.stripe_customer_id or "",
            payment_method_id=card.stripe_payment_method_id if card else "",
            manual_capture=payment.kind == Payment.Kind.HOLD,
            metadata={"reference": payment.reference, "payment_id": str(payment.pk)},
            idempotency_key=payment.idempotency_key,
        )
    except PaymentError as exc:
        exc.payment_id = payment.pk
        payment.stripe_payment_intent_id = exc.payment_intent_id
        payment.locked_until = None
        payment.failure_code = exc.code
        payment.failure_message = exc.message
        if exc.code == "authentication_required":
            payment.status = Status.REQUIRES_ACTION
        elif not exc.retryable:
            payment.status = Status.FAILED
        # A retryable failure stays pending: the next call retries under the same key.
        payment.save()
        _log(payment, "place_failed", f"{exc.code}: {exc.detail}")
        raise
    _apply(payment, pi)
    _raise_for(payment)
    return payment


def hold_estimate_update(*, payment: Payment, amount: int) -> Payment:
    """Record the caller's running cost estimate (used only if the hold nears its deadline)."""
    Payment.objects.filter(pk=payment.pk).update(estimated_amount=amount)
    payment.refresh_from_db()
    return payment


def hold_capture(*, payment: Payment, amount: int) -> Payment:
    """Capture `amount` (minor units) of a hold; above the hold, charge the rest separately.

    0 releases the hold. A second call with the same amount changes nothing; a different amount
    after a capture is refused (`already_captured`).
    """
    if amount < 0:
        raise PaymentError("An amount to capture can't be negative.", code="bad_amount")
    if payment.kind != Payment.Kind.HOLD:
        raise PaymentError("Only a hold can be captured.", code="not_a_hold")
    if amount == 0:
        return hold_release(payment=payment, reason="Nothing to charge: the final cost is 0.")
    payment.refresh_from_db()
    if payment.status == Status.REQUIRES_CAPTURE and _claim(
        payment,
        claimable=(Status.REQUIRES_CAPTURE,),
        to=Status.CAPTURING,
        amount_to_capture=amount,
    ):
        payment = _capture(payment)
    elif payment.status == Status.CAPTURING and not _is_locked(payment):
        payment = _claim_stale_and_resync(payment)
        return hold_capture(payment=payment, amount=amount)
    if payment.status == Status.CAPTURED:
        if payment.amount_to_capture != amount:
            raise PaymentError(
                f"This hold was already captured for "
                f"{format_money(payment.amount_to_capture or 0, payment.currency)}.",
                code="already_captured",
                payment_id=payment.pk,
            )
        _excess_ensure(payment)
        return payment
    if payment.status in (Status.CAPTURING, Status.RELEASING):
        raise _in_progress(payment)
    if payment.status in (Status.CANCELED, Status.FAILED) and payment.amount_to_capture is None:
        # The cost is owed though the hold is gone: the row says so (a driver who owes money
        # is read from these rows), and its log says why.
        Payment.objects.filter(pk=payment.pk, amount_to_capture=None).update(
            amount_to_capture=amount
        )
        _log(
            payment,
            "capture_owed",
            f"{format_money(amount, payment.currency)} is owed: there was no hold left to capture.",
        )
    raise PaymentError(
        f"There is no hold to capture (status: {payment.get_status_display()}).",
        code="not_capturable",
        payment_id=payment.pk,
    )


def _capture(payment: Payment) -> Payment:
    """The Stripe half of a capture, for a payment claimed in `capturing`."""
    amount = min(payment.amount_to_capture or 0, payment.amount)
    try:
        pi = gateway.payment_intent_capture(
            payment_intent_id=payment.stripe_payment_intent_id or "",
            amount=amount,
            idempotency_key=f"capture-{payment.pk}",
        )
    except PaymentError as exc:
        # The outcome is unknown (a lost response, an earlier attempt that did capture): the
        # PaymentIntent says what really happened.
        now = _retrieve_or_none(payment)
        if now is None:
            raise  # unknown: the claim lapses and the next call or the sweeper re-reads Stripe
        if now.status != "succeeded":
            _apply(payment, now, note=f"capture refused: {exc.detail}")
            raise
        pi = now
    return _apply(payment, pi, note=f"captured {format_money(amount, payment.currency)}")


def _retrieve_or_none(payment: Payment) -> gateway.PaymentIntent | None:
    try:
        return gateway.payment_intent_retrieve(payment.stripe_payment_intent_id or "")
    except PaymentError:
        return None


def _claim_stale_and_resync(payment: Payment) -> Payment:
    """A worker died holding this payment: Stripe's PaymentIntent says where it got to."""
    if not _claim(payment, claimable=(), to=payment.status):
        raise _in_progress(payment)
    pi = _retrieve_or_none(payment)
    if pi is None:
        Payment.objects.filter(pk=payment.pk).update(locked_until=None)
        raise PaymentError(gateway.UNREACHABLE, code="gateway_unavailable", retryable=True)
    return _apply(payment, pi, note="resumed after an interrupted call")


def _excess_ensure(hold: Payment) -> None:
    """Charge what the capture asked for above the hold, once, as a separate payment."""
    excess = (hold.amount_to_capture or 0) - hold.amount
    if excess <= 0:
        return
    if excess < MINIMUM_CHARGE.get(hold.currency, 1):
        if not hold.log.filter(action="excess_absorbed").exists():
            _log(
                hold,
                "excess_absorbed",
                f"{format_money(excess, hold.currency)} above the hold is below Stripe's "
                "minimum charge and was not charged.",
            )
        return
    try:
        with transaction.atomic():
            charge, created = Payment.objects.get_or_create(
                reference=hold.reference,
                kind=Payment.Kind.EXCESS,
                defaults={
                    "account": hold.account,
                    "parent": hold,
                    "amount": excess,
                    "currency": hold.currency,
                    "payment_method": hold.payment_method,
                    "card_label": hold.card_label,
                    "idempotency_key": f"excess-{hold.pk}",
                    "locked_until": timezone.now() + LEASE,
                },
            )
    except IntegrityError:
        return  # another worker is creating it
    if not created and (
        charge.status != Status.PENDING or not _claim(charge, claimable=(), to=Status.PENDING)
    ):
        return
    try:
        _hold_create(charge)
    except PaymentError as exc:
        _log(hold, "excess_failed", f"{format_money(excess, hold.currency)}: {exc.message}")
        logger.warning("excess charge for %s failed: %s", hold.reference, exc.detail)
        if exc.retryable:
            # The charge stays pending: the caller's retry (or the sweeper) makes it; the hold
            # is already captured, so a second call goes straight here.
            raise


def hold_release(*, payment: Payment, reason: str = "") -> Payment:
    """Release a hold (cancel the PaymentIntent); releasing it again changes nothing.

    A release interrupted mid-call (`releasing`, its claim expired) is taken over and finished.
    """
    payment.refresh_from_db()
    if payment.status in (Status.CANCELED, Status.FAILED):
        return payment
    if payment.status == Status.CAPTURED:
        raise PaymentError(
            "This payment was already captured; refund it instead.",
            code="already_captured",
            payment_id=payment.pk,
        )
    if not _claim(
        payment,
        claimable=(Status.REQUIRES_CAPTURE, Status.REQUIRES_ACTION),
        to=Status.RELEASING,
    ) and not (
        payment.status == Status.PENDING
        and not _is_locked(payment)
        and payment.stripe_payment_intent_id is None
        and _claim(payment, claimable=(Status.PENDING,), to=Status.RELEASING)
    ):
        raise _in_progress(payment)
    if payment.stripe_payment_intent_id is None:
        payment.status = Status.CANCELED
        payment.canceled_at = timezone.now()
        payment.locked_until = None
        payment.save()
        _log(payment, "canceled", reason or "released before it was placed")
        return payment
    try:
        pi = gateway.payment_intent_cancel(
            payment_intent_id=payment.stripe_payment_intent_id or "",
            idempotency_key=f"release-{payment.pk}",
        )
    except PaymentError as exc:
        pi_now = _retrieve_or_none(payment)
        if pi_now is None:
            Payment.objects.filter(pk=payment.pk).update(locked_until=None)
            raise
        if pi_now.status != "canceled":
            _apply(payment, pi_now, note=f"release refused: {exc.detail}")
            raise
        pi = pi_now
    return _apply(payment, pi, note=reason or "released")


@transaction.atomic
def receipt_write(*, payment: Payment) -> Receipt:
    """The receipt for a captured hold and its excess charge; rewriting it is harmless."""
    total = (
        Payment.objects.filter(Q(pk=payment.pk) | Q(parent=payment)).aggregate(
            total=Sum("amount_captured")
        )["total"]
        or 0
    )
    receipt, _ = Receipt.objects.update_or_create(
        payment=payment,
        defaults={
            "account": payment.account,
            "number": f"PW-{payment.pk:08d}",
            "amount": total,
            "currency": payment.currency,
            "card_label": payment.card_label,
        },
    )
    return receipt
