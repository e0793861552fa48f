import re

import pytest
from django.core import mail

from tests.browser.conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple"


def test_driver_signs_up_and_confirming_the_email_signs_in(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/signup/")
    screenshot(page, "signup-desktop")
    page.get_by_label("Email").fill("driver@example.com")
    page.get_by_label("Display name").fill("Volt Rider")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()

    [message] = mail.outbox
    confirm_path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", message.body)
    assert confirm_path, message.body
    page.goto(confirm_path.group(1))
    page.get_by_role("button", name="Confirm").click()

    # Confirming signs the driver in (issue 14: it used to land on the login form).
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # signed in, back on the map
    page.get_by_role("link", name="Account").click()
    page.get_by_text("driver@example.com").first.wait_for()


def test_account_pages_fit_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(PHONE)
    page.goto("/accounts/login/")
    screenshot(page, "login-phone")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE["width"], "the login page scrolls sideways on a phone"
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Skip to content" in focused
