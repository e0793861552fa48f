"""The card page, the authentication page, as a driver sees them (without a browser)."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from payments.models import BillingAccount, Payment, PaymentMethod
from payments.services import PaymentError, hold_place
from tests.payments.conftest import NEEDS_AUTHENTICATION, VISA, LocalStripe, card_add

PAGE = "/account/payment-methods/"


@pytest.fixture
def signed_in(client: Client, driver: Any) -> Client:
    client.force_login(driver)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_card_page_needs_a_login(client: Client, db: None) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_card_page_loads_stripe_js_from_localstripe_and_allows_only_that(
    localstripe: LocalStripe, signed_in: Client
) -> None:
    response = signed_in.get(PAGE)
    html = response.content.decode()
    assert f'<script src="{localstripe.url}/js.stripe.com/v3/"></script>' in html
    assert "You have no saved card yet." in html
    csp = response["Content-Security-Policy"]
    assert f"script-src 'self' {localstripe.url}" in csp
    assert f"connect-src 'self' {localstripe.url}" in csp
    assert "<script>" not in html  # no inline script
    assert 'href="/account/payment-methods/">Payment methods</a>' in html


def test_other_pages_do_not_allow_stripe(localstripe: LocalStripe, signed_in: Client) -> None:
    assert localstripe.url not in signed_in.get("/accounts/email/")["Content-Security-Policy"]


def test_real_stripe_js_is_used_without_localstripe(signed_in: Client, settings: Any) -> None:
    settings.STRIPE_API_BASE = ""
    response = signed_in.get(PAGE)
    assert '<script src="https://js.stripe.com/v3/"></script>' in response.content.decode()
    assert "frame-src https://js.stripe.com" in response["Content-Security-Policy"]


def test_adding_a_card_through_the_page(
    localstripe: LocalStripe, signed_in: Client, driver: Any
) -> None:
    start = signed_in.post("/account/payment-methods/setup/")
    client_secret = start.json()["client_secret"]
    localstripe.confirm_setup(client_secret, VISA)
    response = signed_in.post(
        PAGE, {"action": "save", "setup_intent": client_secret.split("_secret_")[0]}, follow=True
    )
    assert messages_of(response) == ["Visa •••• 4242 is saved."]
    html = response.content.decode()
    assert "Visa •••• 4242" in html
    assert "Expires 12/34" in html
    assert "Default" in html


def test_a_card_setup_of_another_driver_is_refused(
    localstripe: LocalStripe, signed_in: Client, driver: Any
) -> None:
    other = get_user_model().objects.create_user(username="o", email="o@example.com")
    setup = signed_in.post("/account/payment-methods/setup/").json()  # creates our customer
    from payments.services import payment_method_setup_start

    theirs = payment_method_setup_start(user=other)
    localstripe.confirm_setup(theirs.client_secret, VISA)
    response = signed_in.post(PAGE, {"action": "save", "setup_intent": theirs.id}, follow=True)
    assert messages_of(response) == ["That card setup does not belong to your account."]
    assert setup["client_secret"]
    assert not PaymentMethod.objects.exists()


def test_making_a_card_default_and_removing_cards(
    localstripe: LocalStripe, signed_in: Client, driver: Any
) -> None:
    first = card_add(localstripe, driver)
    second = card_add(localstripe, driver, "4000003800000446")
    account = BillingAccount.objects.get(user=driver)
    assert account.default_payment_method == first

    response = signed_in.post(PAGE, {"action": "default", "payment_method": second.pk}, follow=True)
    assert messages_of(response) == ["Visa •••• 0446 is now your default card."]
    customer = localstripe.request("GET", f"/v1/customers/{account.stripe_customer_id}")
    assert customer["invoice_settings"]["default_payment_method"] == second.stripe_payment_method_id

    response = signed_in.post(PAGE, {"action": "remove", "payment_method": second.pk}, follow=True)
    assert messages_of(response) == ["Visa •••• 0446 is removed."]
    account.refresh_from_db()
    assert account.default_payment_method == first  # the remaining card takes over
    stripe_card = localstripe.request(
        "GET", f"/v1/payment_methods/{second.stripe_payment_method_id}"
    )
    assert stripe_card["customer"] is None

    again = signed_in.post(PAGE, {"action": "remove", "payment_method": second.pk}, follow=True)
    assert messages_of(again) == ["That card is no longer on your account."]


def test_a_card_with_a_hold_in_place_cannot_be_removed(
    localstripe: LocalStripe, signed_in: Client, driver: Any
) -> None:
    card = card_add(localstripe, driver)
    hold_place(user=driver, reference="session-v1", amount=5000, currency="eur")
    response = signed_in.post(PAGE, {"action": "remove", "payment_method": card.pk}, follow=True)
    assert messages_of(response) == [
        "This card has a charge in progress. Remove it once the charge has finished."
    ]
    assert PaymentMethod.objects.filter(pk=card.pk).exists()


def test_another_drivers_card_cannot_be_touched(
    localstripe: LocalStripe, signed_in: Client
) -> None:
    other = get_user_model().objects.create_user(username="o", email="o@example.com")
    theirs = card_add(localstripe, other)
    response = signed_in.post(PAGE, {"action": "remove", "payment_method": theirs.pk}, follow=True)
    assert messages_of(response) == ["That card is no longer on your account."]
    assert PaymentMethod.objects.filter(pk=theirs.pk).exists()


def test_completing_the_banks_authentication_places_the_hold(
    localstripe: LocalStripe, signed_in: Client, driver: Any
) -> None:
    card_add(localstripe, driver, NEEDS_AUTHENTICATION)
    with pytest.raises(PaymentError) as error:
        hold_place(user=driver, reference="session-v2", amount=5000, currency="eur")
    url = f"/payments/{error.value.payment_id}/authenticate/?next=/charging/"
    page = signed_in.get(url)
    html = page.content.decode()
    assert "Your bank wants you to confirm a hold of <strong>€50.00</strong>" in html
    assert 'data-client-secret="pi_' in html

    payment = Payment.objects.get(pk=error.value.payment_id)
    secret = localstripe.payment_intent(payment.stripe_payment_intent_id)["client_secret"]
    # What localstripe's Stripe.js does when the driver presses "Complete authentication".
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{payment.stripe_payment_intent_id}/_authenticate?success=true",
        {"key": "pk_test_localstripe", "client_secret": secret},
    )
    response = signed_in.post(url, {"next": "/charging/"})
    assert response.status_code == 302
    assert response["Location"] == "/charging/"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_CAPTURE
    # Starting again with the same reference now finds the hold in place.
    assert hold_place(user=driver, reference="session-v2", amount=5000, currency="eur") == payment


def test_a_failed_authentication_says_no_hold_was_placed(
    localstripe: LocalStripe, signed_in: Client, driver: Any
) -> None:
    card_add(localstripe, driver, NEEDS_AUTHENTICATION)
    with pytest.raises(PaymentError) as error:
        hold_place(user=driver, reference="session-v3", amount=5000, currency="eur")
    payment = Payment.objects.get(pk=error.value.payment_id)
    secret = localstripe.payment_intent(payment.stripe_payment_intent_id)["client_secret"]
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{payment.stripe_payment_intent_id}/_authenticate?success=false",
        {"key": "pk_test_localstripe", "client_secret": secret},
    )
    response = signed_in.post(
        f"/payments/{payment.pk}/authenticate/?next=https://evil.example/", follow=True
    )
    assert messages_of(response) == [
        "Your bank did not confirm the payment, so no hold was placed. Try again with another card."
    ]
    assert "evil.example" not in response.redirect_chain[0][0]


def test_another_drivers_payment_page_is_not_found(
    localstripe: LocalStripe, signed_in: Client
) -> None:
    other = get_user_model().objects.create_user(username="o", email="o@example.com")
    card_add(localstripe, other)
    payment = hold_place(user=other, reference="session-v4", amount=5000, currency="eur")
    assert signed_in.get(f"/payments/{payment.pk}/authenticate/").status_code == 404


@pytest.mark.parametrize("setup_intent", ["seti_doesnotexist", ""])
def test_saving_an_unknown_card_setup_says_so(
    localstripe: LocalStripe, signed_in: Client, setup_intent: str
) -> None:
    response = signed_in.post(PAGE, {"action": "save", "setup_intent": setup_intent}, follow=True)
    assert messages_of(response) == ["That card setup was not found. Add the card again."]


@pytest.mark.parametrize("card_id", ["", "abc", "²", "99999999999999999999"])
@pytest.mark.parametrize("action", ["default", "remove"])
def test_a_card_form_without_a_card_id_says_the_card_is_gone(
    localstripe: LocalStripe, signed_in: Client, driver: Any, action: str, card_id: str
) -> None:
    card_add(localstripe, driver)
    response = signed_in.post(PAGE, {"action": action, "payment_method": card_id}, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["That card is no longer on your account."]
    assert PaymentMethod.objects.count() == 1
