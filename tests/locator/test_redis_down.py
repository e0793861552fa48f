"""With Redis (cache, limits, broker) down: search, the map, station pages, receipts and the
sessions API go on showing what they showed, sign-ins and writes are refused with a 503 that
says to try again, never a 500; once Redis is back everything works and is limited again. The
outage is a real Redis, stopped and started (issue 16, attack 3: "the map loads empty")."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django.fixtures import Settings

from config.clients import ClientRateThrottle
from locator.models import Location
from roaming.models import ChargingSession
from tests.conftest import RedisServer
from tests.locator.conftest import location
from tests.payments.conftest import LocalStripe, localstripe, localstripe_server  # noqa: F401
from tests.roaming.billing import session_billed
from tests.test_clients import PASSWORD, verified_user

pytestmark = pytest.mark.django_db

Put = Callable[..., Location]
NEAR = "/api/v1/stations/?lat=52.37&lon=4.89&radius_km=5"
MAP = "/api/v1/map/?bbox=4.8,52.3,5.0,52.4&zoom=14"


@pytest.fixture
def redis(own_broker: RedisServer, settings: Settings) -> RedisServer:
    """Everything that uses Redis (the cache and limits, the shared connection, Celery's broker)
    on a real redis-server of the test's own, for the test to stop and start."""
    settings.REDIS_URL = own_broker.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_broker.url,
        }
    }
    return own_broker


@pytest.fixture
def station(put: Put) -> Location:
    return put(location("R1", lat=52.3712, lon=4.8952, name="Damrak Fast"))


def test_with_redis_down_the_station_and_the_charge_are_all_there(
    client: Client,
    station: Location,
    redis: RedisServer,
    localstripe: LocalStripe,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    charge: ChargingSession = session_billed(
        client, localstripe, django_capture_on_commit_callbacks
    )
    driver = Client()
    driver.force_login(charge.user)
    redis.stop()

    near = client.get(NEAR)
    assert near.status_code == 200
    assert [found["name"] for found in near.json()] == ["Damrak Fast"]
    on_map = client.get(MAP).json()
    assert (on_map["kind"], [item["id"] for item in on_map["items"]]) == ("stations", [station.pk])
    detail = client.get(f"/api/v1/stations/{station.pk}/").json()
    assert (detail["name"], len(detail["evses"])) == ("Damrak Fast", 1)

    page = client.get(f"/stations/{station.pk}/")
    assert page.status_code == 200
    assert "Damrak Fast" in page.content.decode()
    assert "Voltway" in client.get("/").content.decode()  # the map page's operator filter

    receipt = driver.get(f"/receipts/{charge.public_id}/")
    assert receipt.status_code == 200
    assert "€5.07" in receipt.content.decode()
    session = driver.get(f"/api/v1/sessions/{charge.public_id}/").json()
    assert (session["state"], session["receipt_url"]) == (
        "completed",
        f"/receipts/{charge.public_id}/",
    )


def test_writes_are_refused_with_503_while_redis_is_down_and_limited_again_once_it_is_back(
    client: Client, station: Location, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ClientRateThrottle.THROTTLE_RATES, "anon", "3/min")
    verified_user("driver@example.com")
    credentials = {"login": "driver@example.com", "password": PASSWORD}
    driver = Client(raise_request_exception=False)
    driver.force_login(get_user_model().objects.get())
    comments = f"/api/v1/stations/{station.pk}/comments/"
    redis.stop()

    client.raise_request_exception = False
    login = client.post("/accounts/login/", credentials)
    assert login.status_code == 503
    assert "Retry-After" in login
    assert "_auth_user_id" not in client.session
    comment = driver.post(comments, {"text": "Works fine"}, content_type="application/json")
    assert comment.status_code == 503
    assert "try again" in comment.json()["detail"]
    start = driver.post(
        "/api/v1/sessions/", {"evse": station.evses.get().pk}, content_type="application/json"
    )
    assert start.status_code == 503
    assert not ChargingSession.objects.exists()
    assert {client.get(NEAR).status_code for _ in range(5)} == {200}  # reads are not limited

    redis.start()

    assert driver.post(comments, {"text": "Works fine"}).status_code == 201
    assert client.post("/accounts/login/", credentials).status_code == 302
    assert "_auth_user_id" in client.session
    anonymous = Client()
    assert [anonymous.get(NEAR).status_code for _ in range(4)] == [200, 200, 200, 429]
