"""Drivers are known to others by a display name they chose, never by anything of their email;
account emails name the site; confirming the email signs the driver in."""

import importlib
import re
from pathlib import Path
from typing import Any

import allauth
import pytest
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import DriverProfile
from roaming.models import DriverToken, SessionState
from tests.accounts.test_signup import PASSWORD, link_in_last_email, sign_up
from tests.locator import conftest as locator_fixtures
from tests.locator.conftest import location
from tests.payments.conftest import LocalStripe, localstripe, localstripe_server
from tests.roaming.billing import Ocpi, cdr_payload, cpo_partner, driver_make, session_make

pytestmark = pytest.mark.django_db(transaction=True)
put = locator_fixtures.put
__all__ = ["localstripe", "localstripe_server"]  # fixtures for the charge a driver made

EMAIL = "jane.doe@example.org"
# Any of these on a page someone else sees would leak the address.
EMAIL_PARTS = ("jane", "doe", "example.org", "@example", EMAIL)


def test_the_display_name_is_chosen_at_sign_up(client: Client) -> None:
    sign_up(client, EMAIL, display_name="  Volt   Rider ")
    user = get_user_model().objects.get(email=EMAIL)
    assert user.driver_profile.display_name == "Volt Rider"


@pytest.mark.parametrize(
    ("display_name", "error"),
    [
        ("", "This field is required."),
        ("x", "Choose a name of at least 2 characters."),
        ("jane.doe@example.org", "Choose a name that is not your email address"),
        ("Jane.Doe", "Choose a name that is not your email address"),
        ("me@home", "Choose a name that is not your email address"),
    ],
)
def test_a_display_name_from_the_email_is_refused_next_to_the_field(
    client: Client, display_name: str, error: str
) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": EMAIL,
            "display_name": display_name,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'name="display_name"[^>]*aria-invalid="true"', page)
    assert error in page
    assert get_user_model().objects.count() == 0


def test_the_sign_up_form_asks_email_then_display_name_then_password(client: Client) -> None:
    page = client.get("/accounts/signup/").content.decode()
    names = re.findall(r'name="(email|display_name|password1|password2)"', page)
    assert names == ["email", "display_name", "password1", "password2"]


def test_confirming_the_email_signs_the_driver_in(client: Client) -> None:
    sign_up(client, EMAIL)
    assert "_auth_user_id" not in client.session
    response = client.post(link_in_last_email("/accounts/confirm-email/"))
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get(email=EMAIL).pk)


def test_a_link_opened_in_another_browser_confirms_and_asks_to_sign_in(client: Client) -> None:
    sign_up(client, EMAIL)
    phone = Client()  # the email read on another device
    response = phone.post(link_in_last_email("/accounts/confirm-email/"), follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert f"You have confirmed {EMAIL}." in page
    assert "Now sign in with your email and password to continue." in page
    assert "_auth_user_id" not in phone.session  # the link alone signs nobody in
    phone.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD})
    assert phone.session["_auth_user_id"] == str(get_user_model().objects.get(email=EMAIL).pk)


def test_every_account_email_names_the_site(client: Client, settings) -> None:
    settings.SITE_NAME = "Voltly"
    settings.SITE_URL = "https://voltly.example.com"
    sign_up(client, EMAIL)
    client.post(link_in_last_email("/accounts/confirm-email/"))
    client.logout()
    client.post("/accounts/password/reset/", {"email": EMAIL})
    client.post("/accounts/password/reset/", {"email": "nobody@example.net"})  # no account
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert message.subject.startswith("[Voltly] "), message.subject
        assert "Hello from Voltly!" in message.body, message.body
        assert "Thank you for using Voltly!\nvoltly.example.com" in message.body
        assert "Plugway" not in message.subject + message.body


# Every email the installed allauth apps (account, mfa) can send; ours override theirs by name.
ALLAUTH_EMAILS = sorted(
    f"{app}/email/{subject.name.removesuffix('_subject.txt')}"
    for app in ("account", "mfa")
    for subject in (Path(allauth.__file__).parent / "templates" / app / "email").glob(
        "*_subject.txt"
    )
)


@pytest.mark.parametrize("template", ALLAUTH_EMAILS)
def test_each_allauth_email_names_the_site_from_settings(settings, template: str) -> None:
    settings.SITE_NAME = "Voltly"
    user = get_user_model().objects.create_user("jane", EMAIL)
    get_adapter().send_mail(template, EMAIL, {"user": user})
    [message] = mail.outbox
    assert message.subject.startswith("[Voltly] "), message.subject
    assert "Hello from Voltly!" in message.body, message.body
    assert "Plugway" not in message.subject + message.body


def test_no_comment_or_page_shows_any_part_of_an_email(client: Client, put) -> None:
    station = put(location("PRIV", name="Quiet Corner"))
    sign_up(client, EMAIL, display_name="Volt Rider")
    client.post(link_in_last_email("/accounts/confirm-email/"))  # signed in
    client.post(f"/stations/{station.id}/comments/", {"text": "Worked first time", "rating": 5})
    admin_made = get_user_model().objects.create_user(
        "kim.lee@corp.example", "kim.lee@corp.example"
    )
    other = Client()
    other.force_login(admin_made)
    other.post(
        f"/api/v1/stations/{station.id}/comments/",
        {"text": "Slow today"},
        content_type="application/json",
    )
    pages = {
        "station page, signed out": Client().get(f"/stations/{station.id}/"),
        "station page, another driver": other.get(f"/stations/{station.id}/"),
        "comments API": Client().get(f"/api/v1/stations/{station.id}/comments/"),
        "station API": Client().get(f"/api/v1/stations/{station.id}/"),
        "map": Client().get("/"),
        "search API": Client().get(
            "/api/v1/stations/", {"lat": 52.37, "lon": 4.89, "radius_km": 5}
        ),
    }
    for what, response in pages.items():
        assert response.status_code == 200, what
        text = response.content.decode().lower()
        for part in (*EMAIL_PARTS, "kim", "corp.example"):
            assert part not in text, f"{what} shows {part!r}"
    station_page = pages["station page, signed out"].content.decode()
    assert "<strong>Volt Rider</strong>" in station_page
    assert f"<strong>Driver {admin_made.pk}</strong>" in station_page
    assert [c["author"] for c in pages["comments API"].json()] == [
        f"Driver {admin_made.pk}",
        "Volt Rider",
    ]


def test_a_drivers_own_pages_show_the_email_only_where_it_is_managed(
    client: Client,
    put,
    localstripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Signed in (the header, its welcome), favourites, charges, receipts and account pages
    show the display name at most; the email addresses page is where the address belongs."""
    station = put(location("MINE", name="Home Corner"))
    driver = driver_make(localstripe, "qzx.wyv")  # a username as allauth makes one: the local part
    get_user_model().objects.filter(pk=driver.pk).update(email="qzx.wyv@mailhost.test")
    DriverToken.objects.filter(user=driver).update(uid="APP-1")  # as issued: nothing of the name
    EmailAddress.objects.create(
        user=driver, email="qzx.wyv@mailhost.test", verified=True, primary=True
    )
    DriverProfile.objects.create(user=driver, display_name="Volt Rider")
    driver = get_user_model().objects.get(pk=driver.pk)
    session = session_make(user=driver, partner=cpo_partner(), state=SessionState.COMPLETED)
    Ocpi(Client(), django_capture_on_commit_callbacks).post_cdr(cdr_payload(session))
    signed_in = client.post(
        "/accounts/login/",
        {"login": "qzx.wyv@mailhost.test", "password": "a-long-password-1"},
        follow=True,
    )
    assert "Successfully signed in as Volt Rider." in signed_in.content.decode()
    client.post(f"/stations/{station.id}/comments/", {"text": "My local", "rating": 4})
    client.post(f"/stations/{station.id}/favourite/", {"favourite": "on"})
    pages = {
        "map after signing in": signed_in,
        "station page": client.get(f"/stations/{station.id}/"),
        "favourites": client.get("/favourites/"),
        "favourites API": client.get("/api/v1/favourites/"),
        "charging history": client.get("/sessions/"),
        "charge": client.get(f"/sessions/{session.public_id}/"),
        "charge API": client.get(f"/api/v1/sessions/{session.public_id}/"),
        "receipt": client.get(f"/receipts/{session.public_id}/"),
        "display name": client.get("/accounts/name/"),
        "password": client.get("/accounts/password/change/"),
        "two-factor": client.get("/accounts/2fa/"),
        "signed-in devices": client.get("/accounts/sessions/"),
        "payment methods": client.get("/account/payment-methods/"),
    }
    for what, response in pages.items():
        assert response.status_code == 200, what
        # CSRF tokens are random letters: one may hold "qzx" by chance.
        text = re.sub(r'value="[A-Za-z0-9]{64}"', "", response.content.decode()).lower()
        for part in ("qzx", "wyv", "mailhost"):
            assert part not in text, f"{what} shows {part!r}"
    assert "Home Corner" in pages["favourites"].content.decode()
    assert "<strong>Volt Rider</strong>" in pages["station page"].content.decode()
    assert "qzx.wyv@mailhost.test" in client.get("/accounts/email/").content.decode()


def test_drivers_from_before_display_names_get_a_neutral_one() -> None:
    user = get_user_model().objects.create_user("old.timer@example.org", "old.timer@example.org")
    migration = importlib.import_module("accounts.migrations.0002_existing_drivers_named")
    migration.drivers_name(apps, None)
    name = DriverProfile.objects.get(user=user).display_name
    assert re.fullmatch(r"Driver \d{4}", name)


def test_a_driver_changes_the_display_name(client: Client) -> None:
    user = get_user_model().objects.create_user("sam@example.org", "sam@example.org", PASSWORD)
    client.force_login(user)
    assert client.post("/accounts/name/", {"display_name": "sam"}).status_code == 400
    response = client.post("/accounts/name/", {"display_name": "Sunny Charger"}, follow=True)
    assert "Other drivers now see you as Sunny Charger." in response.content.decode()
    assert DriverProfile.objects.get(user=user).display_name == "Sunny Charger"
