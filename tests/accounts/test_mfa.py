"""Two-factor authentication: drivers may turn on an authenticator app (with recovery codes),
staff must have one before the admin opens (issue 16)."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client

from tests.accounts.signing_in import PASSWORD, account, sign_in, signed_in

pytestmark = pytest.mark.django_db


def totp_code(secret: str) -> str:
    """What the driver's authenticator app shows now."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def activate_totp(client: Client) -> str:
    """Turn on an authenticator app through the account pages (allauth asks for the password
    again first); returns its secret."""
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    confirmed = client.post(asked["Location"], {"password": PASSWORD})
    assert confirmed["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret: str = page.context["form"].secret
    assert "Authenticator secret" in page.content.decode()
    assert client.post("/accounts/2fa/totp/activate/", {"code": "000000"}).status_code == 200
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    return secret


def test_a_driver_turns_on_an_authenticator_app_and_then_signs_in_with_its_code(
    client: Client,
) -> None:
    driver = account("ann@example.com")
    sign_in(client, "ann@example.com")
    assert 'href="/accounts/2fa/"' in client.get("/accounts/email/").content.decode()
    assert "Authenticator App" in client.get("/accounts/2fa/").content.decode()

    secret = activate_totp(client)
    assert set(driver.authenticator_set.values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }
    client.post("/accounts/logout/")

    assert sign_in(client, "ann@example.com") == "/accounts/2fa/authenticate/"
    assert not signed_in(client)
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    assert not signed_in(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert signed_in(client)


def test_a_recovery_code_signs_in_once(client: Client) -> None:
    driver = account("bob@example.com")
    TOTP.activate(driver, generate_totp_secret())
    code = RecoveryCodes.activate(driver).get_unused_codes()[0]

    sign_in(client, "bob@example.com")
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert signed_in(client)
    client.post("/accounts/logout/")

    sign_in(client, "bob@example.com")
    again = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert again.status_code == 200
    assert "Incorrect code" in again.content.decode()
    assert not signed_in(client)


def test_staff_without_an_authenticator_app_are_sent_to_set_one_up_before_the_admin(
    client: Client,
) -> None:
    account("ops@example.com", is_staff=True, is_superuser=True)
    login = client.get("/admin/")
    assert login.status_code == 302  # to the admin login, which is allauth's
    assert sign_in(client, "ops@example.com", next_url="/admin/") == "/admin/"

    for path in ("/admin/", "/admin/roaming/partner/", "/admin/login/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/admin/", follow=True).content.decode()
    assert "Staff accounts need two-factor authentication" in page

    secret = activate_totp(client)
    assert client.get("/admin/roaming/partner/").status_code == 200
    client.post("/accounts/logout/")

    # From now on the admin's sign-in asks for the code too.
    assert sign_in(client, "ops@example.com", next_url="/admin/") == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_drivers_need_no_authenticator_app(client: Client) -> None:
    account("cat@example.com")
    assert sign_in(client, "cat@example.com") == "/"
    assert signed_in(client)
    assert client.get("/accounts/email/").status_code == 200
