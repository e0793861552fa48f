"""Refunds left pending by a worker that died: found at Stripe, not issued twice."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from payments.models import Payment, Refund
from payments.services import hold_capture, hold_place, refund_issue
from tests.payments.conftest import LocalStripe, concurrently


def _stale_pending_refund(user: Any, reference: str) -> tuple[Payment, Refund]:
    """A €2.00 refund row whose worker died mid-call, long enough ago to be taken over."""
    hold = hold_place(user=user, reference=reference, amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    refund = Refund.objects.create(
        payment=hold,
        amount=200,
        currency="eur",
        reason="slow charger",
        idempotency_key=f"refund-{hold.pk}-r1",
    )
    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=3))
    return hold, refund


def test_a_stale_refund_stripe_already_made_is_recorded_not_sent_again(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold, refund = _stale_pending_refund(driver_with_card, "session-f1")
    made = localstripe.request(
        "POST",
        "/v1/refunds",
        {
            "payment_intent": hold.stripe_payment_intent_id,
            "amount": 200,
            "metadata": {"refund_id": str(refund.pk)},
        },
    )

    again = refund_issue(payment=hold, amount=200, reason="slow charger", request_id="r1")

    assert (again.pk, again.status, again.stripe_refund_id) == (refund.pk, "succeeded", made["id"])
    assert len(localstripe.writes("/v1/refunds")) == 1  # the one the dead worker made
    charge = localstripe.payment_intent(hold.stripe_payment_intent_id)["latest_charge"]
    assert charge["amount_refunded"] == 5000 - 1234 + 200


def test_a_stale_refund_stripe_never_got_is_sent_once(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold, refund = _stale_pending_refund(driver_with_card, "session-f2")
    again = refund_issue(payment=hold, amount=200, reason="slow charger", request_id="r1")
    assert (again.pk, again.status) == (refund.pk, "succeeded")
    assert len(localstripe.writes("/v1/refunds")) == 1


@pytest.mark.django_db(transaction=True)
def test_retries_of_a_stale_refund_at_the_same_moment_send_it_once(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold, _ = _stale_pending_refund(driver_with_card, "session-f3")

    outcomes = concurrently(
        lambda: (
            refund_issue(payment=hold, amount=200, reason="slow charger", request_id="r1").status
        ),
        8,
    )

    assert set(outcomes) <= {"succeeded", "in_progress"}, outcomes
    assert len(localstripe.writes("/v1/refunds")) == 1
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
