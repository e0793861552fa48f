"""A driver adds a card on the card page in Chromium, through Stripe.js (localstripe's)."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from payments.models import PaymentMethod
from tests.browser.conftest import PHONE, screenshot, sign_in
from tests.payments import conftest as payments_fixtures
from tests.payments.conftest import LocalStripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The payments app's localstripe fixtures, for this browser test.
localstripe_server = payments_fixtures.localstripe_server
localstripe = payments_fixtures.localstripe


@pytest.fixture
def signed_in_page(page: Any, localstripe: LocalStripe, live_server: Any) -> Any:
    user = get_user_model().objects.create_user(
        username="driver", email="driver@example.com", password="a-long-password-1"
    )
    sign_in(page, live_server, user)
    page.user = user
    return page


def fill_card(page: Any, number: str, year: str = "2034") -> None:
    element = page.locator("#card-element")
    element.get_by_label("Card number").fill(number)
    element.get_by_label("Expiry month").fill("12")
    element.get_by_label("Expiry year").fill(year)
    element.get_by_label("Security code (CVC)").fill("123")
    element.get_by_label("Postcode").fill("10115")


def test_a_driver_adds_a_card_in_the_browser(signed_in_page: Any, localstripe: LocalStripe) -> None:
    page = signed_in_page
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto("/account/payment-methods/")
    assert page.get_by_role("heading", name="Payment methods").is_visible()
    screenshot(page, "payment-methods-empty-desktop")

    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Save card").click()

    page.get_by_text("Visa •••• 4242 is saved.").wait_for()
    card_row = page.locator(".card-row")
    assert "Visa •••• 4242" in card_row.inner_text()
    assert "Default" in card_row.inner_text()
    screenshot(page, "payment-methods-saved-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "payment-methods-saved-phone")

    card = PaymentMethod.objects.get(account__user=page.user)
    stripe_card = localstripe.request("GET", f"/v1/payment_methods/{card.stripe_payment_method_id}")
    assert stripe_card["customer"] == card.account.stripe_customer_id
    assert not [e for e in console_errors if "Content Security Policy" in e]


def test_a_declined_card_shows_the_reason_and_saves_nothing(
    signed_in_page: Any, localstripe: LocalStripe
) -> None:
    page = signed_in_page
    page.set_viewport_size(PHONE)
    page.goto("/account/payment-methods/")
    fill_card(page, "4000000000000002", year="34")  # a two-digit year is fine too
    page.get_by_role("button", name="Save card").click()

    alert = page.locator("#card-errors")
    alert.get_by_text("Your card was declined.").wait_for()
    screenshot(page, "payment-methods-declined-phone")
    assert page.get_by_role("button", name="Save card").is_enabled()
    assert not PaymentMethod.objects.exists()


def hold_needing_authentication(page: Any, localstripe: LocalStripe, reference: str) -> Any:
    """A hold the driver's bank wants confirmed; returns its payment."""
    from payments.models import Payment
    from payments.services import PaymentError, hold_place
    from tests.payments.conftest import NEEDS_AUTHENTICATION, card_add

    card_add(localstripe, page.user, NEEDS_AUTHENTICATION)
    with pytest.raises(PaymentError) as error:
        hold_place(user=page.user, reference=reference, amount=5000, currency="eur")
    return Payment.objects.get(pk=error.value.payment_id)


def test_a_driver_completes_the_banks_authentication_in_the_browser(
    signed_in_page: Any, localstripe: LocalStripe
) -> None:
    from payments.models import Payment

    page = signed_in_page
    payment = hold_needing_authentication(page, localstripe, "session-b1")

    page.set_viewport_size(PHONE)
    page.goto(f"/payments/{payment.pk}/authenticate/")
    screenshot(page, "payment-authenticate-phone")
    page.get_by_role("button", name="Confirm with my bank").click()
    # localstripe's Stripe.js stands in for the bank's challenge with two buttons.
    page.get_by_role("button", name="Complete authentication").click()

    page.get_by_text("Thank you, your bank confirmed the hold of €50.00.").wait_for()
    screenshot(page, "payment-authenticated-phone")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_CAPTURE
    assert (
        localstripe.payment_intent(payment.stripe_payment_intent_id)["status"] == "requires_capture"
    )


def test_an_authentication_error_stays_on_the_page_for_the_driver_to_read(
    signed_in_page: Any, localstripe: LocalStripe
) -> None:
    page = signed_in_page
    payment = hold_needing_authentication(page, localstripe, "session-b2")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.set_viewport_size(PHONE)
    page.goto(f"/payments/{payment.pk}/authenticate/")
    # Meanwhile the hold was released (e.g. the start timed out): Stripe refuses the confirmation.
    localstripe.request("POST", f"/v1/payment_intents/{payment.stripe_payment_intent_id}/cancel")

    page.get_by_role("button", name="Confirm with my bank").click()
    page.get_by_role("button", name="Complete authentication").click()

    page.locator("#authenticate-errors").get_by_text("Bad request").wait_for()
    assert page.get_by_role("button", name="Confirm with my bank").is_enabled()
    screenshot(page, "payment-authenticate-error-phone")
    assert not [url for url in posts if "/authenticate/" in url]  # the page did not post back


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_wrong_card_field_says_what_is_wrong_under_it_and_asks_stripe_nothing(
    signed_in_page: Any, localstripe: LocalStripe, size: str
) -> None:
    page = signed_in_page
    page.set_viewport_size(PHONE if size == "phone" else {"width": 1280, "height": 800})
    page.goto("/account/payment-methods/")
    element = page.locator("#card-element")
    page.get_by_role("button", name="Save card").click()  # nothing typed yet
    expect(element.locator(".standin-error")).to_have_text(
        [
            "Enter your card number.",
            "Enter the expiry month.",
            "Enter the expiry year.",
            "Enter the security code from the back of the card.",
            "Enter the postcode of your billing address.",
        ]
    )
    expect(element.get_by_label("Card number")).to_be_focused()
    element.get_by_label("Card number").fill("4242 4242 4242 4241")
    element.get_by_label("Expiry month").fill("13")
    element.get_by_label("Expiry year").fill("2020")
    element.get_by_label("Security code (CVC)").fill("12")
    element.get_by_label("Postcode").fill("10115")
    page.get_by_role("button", name="Save card").click()
    expect(element.locator(".standin-error:not(:empty)")).to_have_text(
        [
            "This card number is not valid; check it.",
            "Enter the month as a number from 1 to 12.",
            "This card has expired.",
            "The security code is 3 or 4 digits.",
        ]
    )
    expect(element.get_by_label("Expiry month")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#card-errors")).to_have_text("This card number is not valid; check it.")
    screenshot(page, f"card-form-errors-{size}")
    assert localstripe.writes() == []
    assert not PaymentMethod.objects.exists()

    fill_card(page, "4242424242424242", year="2030")  # four digits, as printed on many cards
    expect(element.locator(".standin-error:not(:empty)")).to_have_count(0)
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Visa •••• 4242 is saved.").wait_for()
    assert PaymentMethod.objects.get().exp_year == 2030
