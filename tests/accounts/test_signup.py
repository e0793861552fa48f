"""Sign-up with mandatory email verification, log in/out, password reset, rate limits."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

# Account mail is queued after the commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-staple"


def sign_up(
    client: Client, email: str = "driver@example.com", display_name: str = "Volt Rider"
) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": email,
            "display_name": display_name,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content


def link_in_last_email(path_prefix: str) -> str:
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_signup_sends_a_verification_email(client: Client) -> None:
    sign_up(client)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["driver@example.com"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body


def test_unverified_driver_cannot_log_in(client: Client) -> None:
    sign_up(client)
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": "driver@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session


def test_verified_driver_logs_in_and_out(client: Client) -> None:
    sign_up(client)
    confirm_url = link_in_last_email("/accounts/confirm-email/")
    assert client.post(confirm_url).status_code == 302
    response = client.post(
        "/accounts/login/", {"login": "driver@example.com", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert "_auth_user_id" in client.session
    assert "driver@example.com" in client.get("/accounts/email/").content.decode()
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_signup_form_errors_are_shown_next_to_the_field(client: Client) -> None:
    response = client.post(
        "/accounts/signup/", {"email": "not-an-email", "password1": "short", "password2": "other"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'aria-invalid="true"' in page
    assert "Enter a valid email address." in page
    assert get_user_model().objects.count() == 0


def test_password_reset_lets_a_driver_choose_a_new_password(client: Client) -> None:
    sign_up(client)
    client.post(link_in_last_email("/accounts/confirm-email/"))
    client.logout()
    client.post("/accounts/password/reset/", {"email": "driver@example.com"})
    reset_url = link_in_last_email("/accounts/password/reset/key/")
    form_url = client.get(reset_url)["Location"]  # allauth moves the key out of the URL
    new_password = "a-brand-new-passphrase-42"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    client.post("/accounts/login/", {"login": "driver@example.com", "password": new_password})
    assert "_auth_user_id" in client.session


def test_repeated_failed_logins_lock_the_account_for_a_while(client: Client) -> None:
    sign_up(client)
    client.post(link_in_last_email("/accounts/confirm-email/"))
    client.logout()
    for _ in range(5):
        client.post(
            "/accounts/login/", {"login": "driver@example.com", "password": "wrong-password"}
        )
    response = client.post(
        "/accounts/login/", {"login": "driver@example.com", "password": PASSWORD}
    )
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_account_pages_use_the_plugway_layout(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert 'class="site-header"' in page
    assert "plugway.css" in page
    assert '<label for="id_login">' in page
