"""The issue's "done when", against localstripe: a card, a €50 hold, a €12.34 capture, a €2.00
refund, each asked twice; declined and authentication-required cards; the retry storm."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from payments.models import BillingAccount, Payment, Receipt, Refund
from payments.services import (
    PaymentError,
    hold_capture,
    hold_place,
    hold_release,
    refund_issue,
)
from tests.payments.conftest import (
    DECLINES_ON_CHARGE,
    NEEDS_AUTHENTICATION,
    VISA,
    FlakyStripe,
    LocalStripe,
    card_add,
    concurrently,
)


def test_saving_the_same_card_twice_keeps_one_card(localstripe: LocalStripe, driver: Any) -> None:
    from payments.services import payment_method_save, payment_method_setup_start

    setup = payment_method_setup_start(user=driver)
    localstripe.confirm_setup(setup.client_secret, VISA)
    first = payment_method_save(user=driver, setup_intent_id=setup.id)
    again = payment_method_save(user=driver, setup_intent_id=setup.id)

    assert again.pk == first.pk
    account = BillingAccount.objects.get(user=driver)
    assert account.payment_methods.count() == 1
    assert account.default_payment_method == first
    assert (first.brand, first.last4, first.exp_month, first.exp_year) == ("visa", "4242", 12, 2034)
    customer = localstripe.request("GET", f"/v1/customers/{account.stripe_customer_id}")
    assert customer["invoice_settings"]["default_payment_method"] == first.stripe_payment_method_id
    stripe_card = localstripe.request(
        "GET", f"/v1/payment_methods/{first.stripe_payment_method_id}"
    )
    assert stripe_card["customer"] == account.stripe_customer_id
    assert len(localstripe.writes("/attach")) == 1


def test_hold_capture_refund_each_twice_changes_nothing_the_second_time(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-1", amount=5000, currency="EUR")
    assert (
        hold_place(user=driver_with_card, reference="session-1", amount=5000, currency="eur")
        == hold
    )
    assert hold.status == Payment.Status.REQUIRES_CAPTURE
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "requires_capture"
    assert len(localstripe.writes("/v1/payment_intents")) == 1

    captured = hold_capture(payment=hold, amount=1234)
    again = hold_capture(payment=hold, amount=1234)
    assert captured.status == again.status == Payment.Status.CAPTURED
    assert again.amount_captured == 1234
    pi = localstripe.payment_intent(hold.stripe_payment_intent_id)
    assert pi["status"] == "succeeded"
    # localstripe releases the uncaptured €37.66 as a refund on the €50 charge.
    assert pi["latest_charge"]["amount_refunded"] == 5000 - 1234
    assert len(localstripe.writes("/capture")) == 1
    receipt = Receipt.objects.get(payment=hold)
    assert (receipt.amount, receipt.currency) == (1234, "eur")

    refund = refund_issue(payment=hold, amount=200, reason="Charger was slow")
    assert refund_issue(payment=hold, amount=200, reason="Charger was slow") == refund
    assert refund.status == Refund.Status.SUCCEEDED
    refunds = localstripe.request(
        "GET", f"/v1/refunds?payment_intent={hold.stripe_payment_intent_id}"
    )
    ours = [r for r in refunds["data"] if r["payment_intent"]]
    assert [r["amount"] for r in ours] == [200]
    assert len(localstripe.writes("/v1/refunds")) == 1


def test_capturing_a_different_amount_after_a_capture_is_refused(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-2", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    with pytest.raises(PaymentError) as error:
        hold_capture(payment=hold, amount=999)
    assert error.value.code == "already_captured"
    assert "€12.34" in error.value.message


def test_a_refund_above_what_was_captured_is_refused(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-3", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    refund_issue(payment=hold, amount=1000, reason="first")
    with pytest.raises(PaymentError) as error:
        refund_issue(payment=hold, amount=300, reason="second")
    assert error.value.message == "At most €2.34 can still be refunded."
    assert len(localstripe.writes("/v1/refunds")) == 1


def test_a_final_cost_above_the_hold_is_charged_separately(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-4", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=6234)
    hold_capture(payment=hold, amount=6234)

    hold.refresh_from_db()
    assert hold.amount_captured == 5000
    excess = Payment.objects.get(reference="session-4", kind=Payment.Kind.EXCESS)
    assert (excess.status, excess.amount_captured) == (Payment.Status.CAPTURED, 1234)
    assert localstripe.payment_intent(excess.stripe_payment_intent_id)["status"] == "succeeded"
    assert Receipt.objects.get(payment=hold).amount == 6234
    assert len(localstripe.writes("/v1/payment_intents")) == 2


def test_releasing_a_hold_twice_cancels_it_once(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-5", amount=5000, currency="eur")
    hold_release(payment=hold)
    hold_release(payment=hold)
    assert hold.status == Payment.Status.CANCELED
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "canceled"
    assert len(localstripe.writes("/cancel")) == 1


def test_a_declined_card_gets_a_clear_message_and_no_hold(
    localstripe: LocalStripe, driver: Any
) -> None:
    card_add(localstripe, driver, DECLINES_ON_CHARGE)
    for _ in range(2):
        with pytest.raises(PaymentError) as error:
            hold_place(user=driver, reference="session-6", amount=5000, currency="eur")
        assert error.value.code == "card_declined"
        assert (
            error.value.message == "Your card was declined. Use another card, or ask your bank why."
        )

    payment = Payment.objects.get(reference="session-6")
    assert payment.status == Payment.Status.FAILED
    intents = localstripe.request("GET", "/v1/payment_intents")["data"]
    assert [pi["status"] for pi in intents] == ["requires_payment_method"]  # nothing authorised


def test_a_card_needing_authentication_gets_a_clear_message_and_no_hold(
    localstripe: LocalStripe, driver: Any
) -> None:
    card_add(localstripe, driver, NEEDS_AUTHENTICATION)
    for _ in range(2):
        with pytest.raises(PaymentError) as error:
            hold_place(user=driver, reference="session-7", amount=5000, currency="eur")
        assert error.value.code == "authentication_required"
        assert "confirm this payment" in error.value.message

    payment = Payment.objects.get(reference="session-7")
    assert error.value.payment_id == payment.pk
    assert payment.status == Payment.Status.REQUIRES_ACTION
    pi = localstripe.payment_intent(payment.stripe_payment_intent_id)
    assert (pi["status"], pi["latest_charge"]) == ("requires_action", None)
    assert len(localstripe.writes("/v1/payment_intents")) == 1


def test_a_hold_without_a_card_asks_for_one(localstripe: LocalStripe, driver: Any) -> None:
    with pytest.raises(PaymentError) as error:
        hold_place(user=driver, reference="session-8", amount=5000, currency="eur")
    assert error.value.message == "Add a card in Payment methods before you start a charge."
    assert localstripe.writes("/v1/payment_intents") == []


def test_a_capture_another_worker_holds_says_when_its_claim_ends(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    """So a retry need not back off blindly (minutes, for a claim of seconds)."""
    hold = hold_place(user=driver_with_card, reference="session-10", amount=5000, currency="eur")
    claimed = {"status": Payment.Status.CAPTURING, "amount_to_capture": 1234}
    Payment.objects.filter(pk=hold.pk).update(
        locked_until=timezone.now() + timedelta(seconds=30), **claimed
    )

    with pytest.raises(PaymentError) as busy:
        hold_capture(payment=hold, amount=1234)

    assert (busy.value.code, busy.value.retryable) == ("in_progress", True)
    assert busy.value.retry_after is not None
    assert 25 < busy.value.retry_after <= 30
    assert localstripe.writes("/capture") == []


def test_a_capture_tried_again_sends_stripe_the_same_idempotency_key(
    localstripe: LocalStripe, driver_with_card: Any, flaky_stripe: FlakyStripe
) -> None:
    """Keys derive from our own ids (`hold-<reference>`, `capture-<payment>`), so Stripe can
    tell a repeat from a new request whichever worker sends it. Read off the wire: by the proxy
    in front of localstripe and by localstripe (which itself ignores them)."""
    hold = hold_place(user=driver_with_card, reference="session-11", amount=5000, currency="eur")
    intent = f"/v1/payment_intents/{hold.stripe_payment_intent_id}"
    flaky_stripe.fail_once("POST", f"{intent}/capture")
    flaky_stripe.fail_once("GET", intent)  # nor can the worker find out what happened
    with pytest.raises(PaymentError):
        hold_capture(payment=hold, amount=1234)
    Payment.objects.filter(pk=hold.pk).update(locked_until=timezone.now())  # its claim lapses

    assert hold_capture(payment=hold, amount=1234).status == Payment.Status.CAPTURED

    key = f"capture-{hold.pk}"
    assert flaky_stripe.idempotency_keys("POST", f"{intent}/capture") == [key, key]
    assert localstripe.idempotency_keys("/capture") == [key]  # the first never got through
    assert localstripe.idempotency_keys("/v1/payment_intents") == ["hold-session-11"]


@pytest.mark.django_db(transaction=True)
def test_a_retry_storm_of_twenty_identical_captures_captures_once(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-9", amount=5000, currency="eur")

    outcomes = concurrently(
        lambda: hold_capture(payment=Payment.objects.get(pk=hold.pk), amount=1234).status, 20
    )

    assert set(outcomes) <= {"captured", "in_progress"}, outcomes
    assert "captured" in outcomes
    assert hold_capture(payment=hold, amount=1234).status == Payment.Status.CAPTURED
    assert (
        len(localstripe.writes(f"/v1/payment_intents/{hold.stripe_payment_intent_id}/capture")) == 1
    )
    pi = localstripe.payment_intent(hold.stripe_payment_intent_id)
    assert pi["status"] == "succeeded"
    assert pi["latest_charge"]["amount_refunded"] == 5000 - 1234  # released once, not twice
    hold.refresh_from_db()
    assert hold.amount_captured == 1234
    assert Receipt.objects.filter(payment=hold).count() == 1


def test_a_hold_tried_while_stripe_is_unreachable_is_placed_once_it_is_back(
    localstripe: LocalStripe, driver_with_card: Any, settings: Any
) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(PaymentError) as error:
        hold_place(user=driver_with_card, reference="session-10", amount=5000, currency="eur")
    assert (error.value.code, error.value.retryable) == ("gateway_unavailable", True)
    assert error.value.message == "We could not reach our payment provider. Try again in a moment."
    assert Payment.objects.get(reference="session-10").status == Payment.Status.PENDING

    settings.STRIPE_API_BASE = localstripe.url
    hold = hold_place(user=driver_with_card, reference="session-10", amount=5000, currency="eur")
    assert hold.status == Payment.Status.REQUIRES_CAPTURE
    assert len(localstripe.writes("/v1/payment_intents")) == 1


def test_a_hold_for_the_same_reference_with_another_amount_is_refused(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold_place(user=driver_with_card, reference="session-11", amount=5000, currency="eur")
    with pytest.raises(PaymentError) as error:
        hold_place(user=driver_with_card, reference="session-11", amount=3000, currency="eur")
    assert error.value.message == "A hold of €50.00 already exists for session-11."


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        (10, "eur", "A hold must be at least €0.50."),
        (5000, "euro", "'euro' is not a currency code like 'eur'."),
    ],
)
def test_a_hold_with_a_bad_amount_or_currency_is_explained(
    localstripe: LocalStripe, driver_with_card: Any, amount: int, currency: str, message: str
) -> None:
    with pytest.raises(PaymentError) as error:
        hold_place(user=driver_with_card, reference="session-12", amount=amount, currency=currency)
    assert error.value.message == message
    assert localstripe.writes("/v1/payment_intents") == []


def test_a_zero_final_cost_releases_the_hold(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-13", amount=5000, currency="eur")
    assert hold_capture(payment=hold, amount=0).status == Payment.Status.CANCELED
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "canceled"


def test_a_released_hold_cannot_be_captured(
    localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-14", amount=5000, currency="eur")
    hold_release(payment=hold)
    with pytest.raises(PaymentError) as error:
        hold_capture(payment=hold, amount=1234)
    assert error.value.message == "There is no hold to capture (status: Released)."
    assert localstripe.writes("/capture") == []


def test_a_charge_above_the_hold_that_hits_a_timeout_is_charged_on_the_next_call(
    flaky_stripe: FlakyStripe, localstripe: LocalStripe, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-15", amount=5000, currency="eur")
    flaky_stripe.fail_once("POST", "/v1/payment_intents")  # the €12.34 charge above the hold
    with pytest.raises(PaymentError) as error:
        hold_capture(payment=hold, amount=6234)
    assert (error.value.code, error.value.retryable) == ("gateway_unavailable", True)
    hold.refresh_from_db()
    assert (hold.status, hold.amount_captured) == (Payment.Status.CAPTURED, 5000)

    assert hold_capture(payment=hold, amount=6234).status == Payment.Status.CAPTURED
    excess = Payment.objects.get(reference="session-15", kind=Payment.Kind.EXCESS)
    assert (excess.status, excess.amount_captured) == (Payment.Status.CAPTURED, 1234)
    assert Receipt.objects.get(payment=hold).amount == 6234
    assert len(localstripe.writes("/capture")) == 1


def test_after_a_decline_the_same_reference_places_the_hold_on_another_card(
    localstripe: LocalStripe, driver: Any
) -> None:
    from payments.services import payment_method_default_set

    card_add(localstripe, driver, DECLINES_ON_CHARGE)
    with pytest.raises(PaymentError):
        hold_place(user=driver, reference="session-17", amount=5000, currency="eur")
    payment_method_default_set(user=driver, payment_method=card_add(localstripe, driver, VISA))

    hold = hold_place(user=driver, reference="session-17", amount=5000, currency="eur")
    again = hold_place(user=driver, reference="session-17", amount=5000, currency="eur")

    assert again == hold
    assert (hold.status, hold.card_label) == (Payment.Status.REQUIRES_CAPTURE, "Visa •••• 4242")
    attempts = Payment.objects.filter(reference="session-17").order_by("id")
    assert [(p.status, p.idempotency_key) for p in attempts] == [
        ("failed", "hold-session-17"),
        ("requires_capture", "hold2-session-17"),
    ]
    assert len(localstripe.writes("/v1/payment_intents")) == 2  # one per card
