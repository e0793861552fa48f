"""Operations admin: failed payments first, and a refund with amount and reason."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from payments.models import Payment, Refund
from payments.services import PaymentError, hold_capture, hold_place, refund_issue
from tests.conftest import with_authenticator
from tests.payments.conftest import DECLINES_ON_CHARGE, LocalStripe, card_add

CHANGELIST = "/admin/payments/payment/"


@pytest.fixture
def admin_client_(client: Client, db: None) -> Client:
    admin = get_user_model().objects.create_superuser(
        username="ops", email="ops@example.com", password="a-long-password-1"
    )
    client.force_login(with_authenticator(admin))
    return client


def test_failed_payments_are_listed_first(
    localstripe: LocalStripe, admin_client_: Client, driver_with_card: Any
) -> None:
    other = get_user_model().objects.create_user(username="d2", email="d2@example.com")
    card_add(localstripe, other, DECLINES_ON_CHARGE)
    with pytest.raises(PaymentError):
        hold_place(user=other, reference="session-declined", amount=5000, currency="eur")
    hold_place(user=driver_with_card, reference="session-newer", amount=5000, currency="eur")

    html = admin_client_.get(CHANGELIST).content.decode()
    assert html.index("session-declined") < html.index("session-newer")
    assert "€50.00" in html


def test_refunding_from_the_admin_with_amount_and_reason(
    localstripe: LocalStripe, admin_client_: Client, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-a1", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    form = admin_client_.post(CHANGELIST, {"action": "refund", "_selected_action": [hold.pk]})
    assert "at most <strong>€12.34</strong> can still be refunded" in form.content.decode()
    request_id = form.context["form"].initial["request_id"]

    submit = {
        "action": "refund",
        "_selected_action": [hold.pk],
        "apply": "1",
        "amount": "2.00",
        "reason": "Charger stopped early",
        "request_id": request_id,
    }
    done = admin_client_.post(CHANGELIST, submit, follow=True)
    admin_client_.post(CHANGELIST, submit, follow=True)  # a double submit

    assert "Refunded €2.00 on session-a1." in done.content.decode()
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.created_by.username) == (
        200,
        "Charger stopped early",
        "ops",
    )
    assert len(localstripe.writes("/v1/refunds")) == 1
    detail = admin_client_.get(f"{CHANGELIST}{hold.pk}/change/").content.decode()
    assert "Charger stopped early" in detail


def test_an_admin_refund_above_the_captured_amount_is_explained(
    localstripe: LocalStripe, admin_client_: Client, driver_with_card: Any
) -> None:
    hold = hold_capture(
        payment=hold_place(
            user=driver_with_card, reference="session-a2", amount=5000, currency="eur"
        ),
        amount=1234,
    )
    response = admin_client_.post(
        CHANGELIST,
        {
            "action": "refund",
            "_selected_action": [hold.pk],
            "apply": "1",
            "amount": "20",
            "reason": "too much",
            "request_id": "x1",
        },
    )
    assert "At most €12.34 can still be refunded." in response.content.decode()
    assert not Refund.objects.exists()
    assert Payment.objects.get().status == Payment.Status.CAPTURED


def _staff(client: Client, *permissions: str) -> Client:
    user = get_user_model().objects.create_user(
        username="support", email="support@example.com", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client.force_login(with_authenticator(user))
    return client


def _refund_posted(client: Client, payment: Payment) -> Any:
    return client.post(
        CHANGELIST,
        {
            "action": "refund",
            "_selected_action": [payment.pk],
            "apply": "1",
            "amount": "2.00",
            "reason": "asked nicely",
            "request_id": "r-staff",
        },
        follow=True,
    )


def test_staff_who_may_only_view_payments_cannot_refund(
    localstripe: LocalStripe, client: Client, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-a3", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    viewer = _staff(client, "view_payment")

    listing = viewer.get(CHANGELIST)
    assert listing.status_code == 200
    assert "Refund the selected payment" not in listing.content.decode()
    _refund_posted(viewer, hold)
    assert not Refund.objects.exists()
    assert localstripe.writes("/v1/refunds") == []


def test_staff_allowed_to_add_refunds_can_refund(
    localstripe: LocalStripe, client: Client, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-a4", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    done = _refund_posted(_staff(client, "view_payment", "add_refund"), hold)
    assert "Refunded €2.00 on session-a4." in done.content.decode()
    assert Refund.objects.get().amount == 200


def test_the_refunded_column_leaves_out_refunds_that_failed(
    localstripe: LocalStripe, admin_client_: Client, driver_with_card: Any
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-a5", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    refund_issue(payment=hold, amount=200, reason="slow charger")
    Refund.objects.create(  # one Stripe refused
        payment=hold,
        amount=300,
        currency="eur",
        reason="tried twice",
        status=Refund.Status.FAILED,
        idempotency_key="refund-failed",
    )
    html = admin_client_.get(CHANGELIST).content.decode()
    assert '<td class="field-refunded">€2.00</td>' in html


@pytest.mark.parametrize("amount", ["Infinity", "-inf", "NaN", "sNaN", "abc"])
def test_an_admin_refund_amount_that_is_not_a_number_is_explained(
    localstripe: LocalStripe, admin_client_: Client, driver_with_card: Any, amount: str
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-a6", amount=5000, currency="eur")
    hold_capture(payment=hold, amount=1234)
    response = admin_client_.post(
        CHANGELIST,
        {
            "action": "refund",
            "_selected_action": [hold.pk],
            "apply": "1",
            "amount": amount,
            "reason": "typo",
            "request_id": "x2",
        },
    )
    assert response.status_code == 200
    assert (
        f"&#x27;{amount}&#x27; is not an amount; write it like 12.34." in response.content.decode()
    )
    assert not Refund.objects.exists()
