"""The reconciliation sweeper (beat): holds near their deadline, abandoned authentications,
interrupted calls, and a report of payments whose state differs from Stripe's."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from payments.models import Payment, Receipt
from payments.services import (
    PaymentError,
    hold_capture,
    hold_estimate_update,
    hold_place,
    payments_reconcile,
)
from payments.tasks import payments_reconcile as payments_reconcile_task
from tests.payments.conftest import NEEDS_AUTHENTICATION, FlakyStripe, LocalStripe, card_add


def _hold(user: Any, reference: str, *, deadline_in: timedelta) -> Payment:
    hold = hold_place(user=user, reference=reference, amount=5000, currency="eur")
    Payment.objects.filter(pk=hold.pk).update(capture_before=timezone.now() + deadline_in)
    hold.refresh_from_db()
    return hold


def test_a_hold_near_its_deadline_is_captured_at_the_estimate(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = _hold(driver_with_card, "session-r1", deadline_in=timedelta(hours=2))
    hold_estimate_update(payment=hold, amount=1800)

    report = payments_reconcile()

    hold.refresh_from_db()
    assert report.captured == [hold.pk]
    assert (hold.status, hold.amount_captured) == (Payment.Status.CAPTURED, 1800)
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "succeeded"
    why = hold.log.get(action="sweep").message
    assert "no final amount yet: capturing the estimate" in why


def test_a_hold_near_its_deadline_without_an_estimate_is_released(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = _hold(driver_with_card, "session-r2", deadline_in=timedelta(hours=2))
    report = payments_reconcile()
    hold.refresh_from_db()
    assert report.released == [hold.pk]
    assert hold.status == Payment.Status.CANCELED
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "canceled"
    assert "no final amount and no estimate: releasing" in hold.log.get(action="sweep").message


def test_a_hold_with_time_left_is_left_alone(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = _hold(driver_with_card, "session-r3", deadline_in=settings.PAYMENTS_HOLD_LIFETIME)
    report = payments_reconcile()
    hold.refresh_from_db()
    assert hold.status == Payment.Status.REQUIRES_CAPTURE
    assert report.as_dict() == {
        "captured": [],
        "released": [],
        "resynced": [],
        "differences": [],
    }


def test_an_authentication_the_driver_never_finished_is_cancelled(
    localstripe: LocalStripe, driver: Any
) -> None:
    card_add(localstripe, driver, NEEDS_AUTHENTICATION)
    with pytest.raises(PaymentError):
        hold_place(user=driver, reference="session-r4", amount=5000, currency="eur")
    later = timezone.now() + settings.PAYMENTS_AUTHENTICATION_TIMEOUT + timedelta(minutes=1)
    payments_reconcile(now=later)
    payment = Payment.objects.get(reference="session-r4")
    assert payment.status == Payment.Status.CANCELED
    assert localstripe.payment_intent(payment.stripe_payment_intent_id)["status"] == "canceled"


def test_a_capture_interrupted_after_stripe_took_it_is_recorded(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = _hold(driver_with_card, "session-r5", deadline_in=timedelta(days=4))
    # A worker claimed the capture, Stripe captured, and the worker died before writing it down.
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{hold.stripe_payment_intent_id}/capture",
        {"amount_to_capture": 1234},
    )
    Payment.objects.filter(pk=hold.pk).update(
        status=Payment.Status.CAPTURING,
        amount_to_capture=1234,
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    report = payments_reconcile()
    hold.refresh_from_db()
    assert report.resynced == [hold.pk]
    assert (hold.status, hold.amount_captured) == (Payment.Status.CAPTURED, 1234)
    assert len(localstripe.writes("/capture")) == 1  # not captured a second time


def test_payments_differing_from_stripe_are_reported(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = _hold(driver_with_card, "session-r6", deadline_in=timedelta(days=4))
    Payment.objects.filter(pk=hold.pk).update(status=Payment.Status.CANCELED)

    report = payments_reconcile_task.delay().get()

    assert report["differences"] == [
        {
            "payment_id": hold.pk,
            "reference": "session-r6",
            "ours": "canceled",
            "stripes": "requires_capture",
        }
    ]
    assert hold.log.filter(action="mismatch").count() == 1


def test_the_sweeper_runs_from_beat() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]
    assert entry["task"] == payments_reconcile_task.name


def test_a_charge_above_the_hold_left_unmade_is_made_by_the_sweeper(
    flaky_stripe: FlakyStripe, localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = _hold(driver_with_card, "session-r7", deadline_in=timedelta(days=4))
    flaky_stripe.fail_once("POST", "/v1/payment_intents")  # the €12.34 above the hold
    with pytest.raises(PaymentError):
        hold_capture(payment=hold, amount=6234)

    report = payments_reconcile()

    excess = Payment.objects.get(reference="session-r7", kind=Payment.Kind.EXCESS)
    assert report.resynced == [excess.pk]
    assert (excess.status, excess.amount_captured) == (Payment.Status.CAPTURED, 1234)
    assert localstripe.payment_intent(excess.stripe_payment_intent_id)["status"] == "succeeded"
    assert Receipt.objects.get(payment=hold).amount == 6234


@pytest.mark.parametrize("stripe_got_it", [False, True])
def test_a_release_interrupted_midway_is_finished_by_the_sweeper(
    localstripe: LocalStripe, driver_with_card: Any, stripe_got_it: bool
) -> None:
    hold = _hold(driver_with_card, "session-r8", deadline_in=timedelta(days=4))
    if stripe_got_it:
        localstripe.request("POST", f"/v1/payment_intents/{hold.stripe_payment_intent_id}/cancel")
    # A worker claimed the release and died (before or after Stripe cancelled the hold).
    Payment.objects.filter(pk=hold.pk).update(
        status=Payment.Status.RELEASING, locked_until=timezone.now() - timedelta(seconds=1)
    )

    report = payments_reconcile()

    hold.refresh_from_db()
    assert report.resynced == [hold.pk]
    assert hold.status == Payment.Status.CANCELED
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "canceled"
    assert report.differences == []


def test_a_release_interrupted_before_the_hold_reached_stripe_is_finished(
    flaky_stripe: FlakyStripe, localstripe: LocalStripe, driver_with_card: Any
) -> None:
    flaky_stripe.fail_once("POST", "/v1/payment_intents")
    with pytest.raises(PaymentError):
        hold_place(user=driver_with_card, reference="session-r9", amount=5000, currency="eur")
    hold = Payment.objects.get(reference="session-r9")
    # The start was given up; the release claimed the pending hold and its worker died.
    Payment.objects.filter(pk=hold.pk).update(
        status=Payment.Status.RELEASING, locked_until=timezone.now() - timedelta(seconds=1)
    )
    payments_reconcile()
    hold.refresh_from_db()
    assert hold.status == Payment.Status.CANCELED
    assert localstripe.writes("/v1/payment_intents") == []
