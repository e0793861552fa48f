"""One client identity for every limit, behind the reverse proxies we run."""

from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework import throttling

from config.clients import ClientRateThrottle
from locator.models import Location

pytestmark = pytest.mark.django_db

Put = Callable[..., Location]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    cache.clear()


def verified_user(email: str, *, staff: bool = False) -> None:
    user = get_user_model().objects.create_user(
        username=email, email=email, password=PASSWORD, is_staff=staff, is_superuser=staff
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)


def test_a_client_sent_forwarded_for_does_not_escape_the_api_limit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No proxy is trusted by default: whatever X-Forwarded-For says, the peer is the client."""
    monkeypatch.setitem(ClientRateThrottle.THROTTLE_RATES, "anon", "3/min")
    answers = [
        client.get("/api/v1/stations/?lat=52.37&lon=4.89", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]


def test_a_signed_in_driver_has_the_user_limit_and_is_told_when_to_retry(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        throttling.SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1/min", "user": "3/min"}
    )
    verified_user("driver@example.com")
    client.force_login(get_user_model().objects.get())
    answers = [client.get("/api/v1/stations/?lat=52.37&lon=4.89") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    # Anonymous callers from the same address have a limit of their own.
    assert Client().get("/api/v1/stations/?lat=52.37&lon=4.89").status_code == 200


def test_behind_our_proxy_each_client_has_its_own_api_limit(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one trusted proxy the client is the entry our proxy appended; what the client put
    before it changes nothing."""
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setitem(ClientRateThrottle.THROTTLE_RATES, "anon", "2/min")

    def search(forwarded_for: str) -> int:
        return client.get(
            "/api/v1/stations/?lat=52.37&lon=4.89", HTTP_X_FORWARDED_FOR=forwarded_for
        ).status_code

    assert [search(f"1.1.1.{n}, 203.0.113.7") for n in range(3)] == [200, 200, 429]
    assert search("203.0.113.8") == 200


def test_failed_logins_of_one_client_do_not_lock_out_another(
    client: Client, settings: Settings
) -> None:
    """Behind the proxy, allauth sees each client, not the proxy: ten failures from one address
    (the per-address limit) leave another driver's login alone."""
    settings.TRUSTED_PROXY_COUNT = 1
    verified_user("driver@example.com")
    attacker = Client(HTTP_X_FORWARDED_FOR="198.51.100.1")
    for n in range(12):
        attacker.post("/accounts/login/", {"login": f"x{n}@example.com", "password": "wrong"})
    locked = attacker.post(
        "/accounts/login/", {"login": "driver@example.com", "password": PASSWORD}
    )
    assert "_auth_user_id" not in attacker.session, locked.status_code

    driver = Client(HTTP_X_FORWARDED_FOR="198.51.100.2")
    driver.post("/accounts/login/", {"login": "driver@example.com", "password": PASSWORD})
    assert "_auth_user_id" in driver.session


def test_the_admin_login_form_takes_no_password_and_sends_staff_to_the_limited_login(
    client: Client,
) -> None:
    verified_user("ops@example.com", staff=True)
    for _ in range(50):
        client.post("/admin/login/", {"username": "ops@example.com", "password": "wrong"})
    answer = client.post("/admin/login/", {"username": "ops@example.com", "password": PASSWORD})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_staff_are_locked_out_after_repeated_failures_like_everyone(client: Client) -> None:
    verified_user("ops@example.com", staff=True)
    for _ in range(5):
        client.post("/accounts/login/", {"login": "ops@example.com", "password": "wrong"})
    client.post("/accounts/login/", {"login": "ops@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
