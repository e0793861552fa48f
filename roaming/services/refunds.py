"""Money back on a charge: the hold's capture first, then the separate charge for any excess
(payments refunds each; we only split the amount and note it on the session's timeline)."""

from django.contrib.auth.models import User

from payments.models import Payment, Refund
from payments.money import format_money
from payments.services import PaymentError, refund_issue, refundable_amount
from roaming.models import ChargingSession
from roaming.services.sessions import session_note


def session_payments(*, session: ChargingSession) -> list[Payment]:
    """What the driver was charged for the session: the captured hold and any excess charge."""
    hold = session.payment
    if hold is None or hold.status != Payment.Status.CAPTURED:
        return []
    return [hold, *hold.excess_charges.filter(status=Payment.Status.CAPTURED)]


def session_refundable(*, session: ChargingSession) -> int:
    return sum(refundable_amount(payment) for payment in session_payments(session=session))


def session_refund(
    *,
    session: ChargingSession,
    amount: int,
    reason: str,
    request_id: str,
    by: User | None = None,
) -> list[Refund]:
    """Refund `amount` (minor units) of what the session cost, for `reason`.

    The same `request_id` refunds once, however often it is asked (a double submit, a
    redelivered task). Raises PaymentError (`refund_too_large`, ...) with a message.
    """
    payments = session_payments(session=session)
    if not payments:
        raise PaymentError("Nothing was charged for this session.", code="not_refundable")
    left = session_refundable(session=session)
    already = list(
        Refund.objects.filter(
            idempotency_key__in=[f"refund-{payment.pk}-{request_id}" for payment in payments]
        )
    )
    if already:
        return already
    if amount > left:
        raise PaymentError(
            f"At most {format_money(left, payments[0].currency)} can still be refunded.",
            code="refund_too_large",
        )
    refunds: list[Refund] = []
    for payment in payments:
        part = min(amount - sum(r.amount for r in refunds), refundable_amount(payment))
        if part > 0:
            refunds.append(
                refund_issue(
                    payment=payment,
                    amount=part,
                    reason=reason,
                    created_by=by,
                    request_id=request_id,
                )
            )
    session_note(
        session=session,
        cause=f"Refunded {format_money(amount, payments[0].currency)}"
        f"{f' by {by}' if by else ''}: {reason}",
    )
    return refunds
