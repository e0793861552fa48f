"""Drivers see where they are signed in and can end their other sessions (issue 16)."""

import pytest
from django.test import Client

from tests.accounts.signing_in import account, sign_in, signed_in

pytestmark = pytest.mark.django_db


def test_ending_the_other_sessions_signs_that_other_browser_out(client: Client) -> None:
    account("ann@example.com")
    phone = Client(HTTP_USER_AGENT="Phone browser", REMOTE_ADDR="203.0.113.7")
    laptop = Client(HTTP_USER_AGENT="Laptop browser", REMOTE_ADDR="198.51.100.4")
    sign_in(phone, "ann@example.com")
    sign_in(laptop, "ann@example.com")

    assert 'href="/accounts/sessions/"' in laptop.get("/accounts/email/").content.decode()
    page = laptop.get("/accounts/sessions/").content.decode()
    assert "Phone browser" in page
    assert "203.0.113.7" in page
    assert "Laptop browser" in page
    assert "Sign Out Other Sessions" in page

    assert laptop.post("/accounts/sessions/").status_code == 302

    assert not signed_in(phone)
    assert phone.get("/accounts/email/")["Location"].startswith("/accounts/login/")
    assert signed_in(laptop)
    assert laptop.get("/accounts/email/").status_code == 200
    page = laptop.get("/accounts/sessions/").content.decode()
    assert "Phone browser" not in page


def test_a_driver_sees_only_their_own_sessions(client: Client) -> None:
    account("ann@example.com")
    account("bob@example.com")
    bobs = Client(HTTP_USER_AGENT="Bob's browser")
    sign_in(bobs, "bob@example.com")
    sign_in(client, "ann@example.com")
    page = client.get("/accounts/sessions/").content.decode()
    assert "Bob&#x27;s browser" not in page
    assert "Bob's browser" not in page
    client.post("/accounts/sessions/")
    assert signed_in(bobs)
