"""With Redis (cache, limits) down: search and station pages go on, sign-ins and writes are
refused with a 503 that says to try again, never a 500. The outage is a real Redis, stopped."""

import socket
import subprocess
import time
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings

from locator.models import Location
from tests.conftest import skip_or_fail
from tests.locator.conftest import location
from tests.test_clients import PASSWORD, verified_user

pytestmark = pytest.mark.django_db

Put = Callable[..., Location]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stopped_redis(settings: Settings) -> None:
    """The cache on a real Redis of its own, which is then stopped (as in an outage)."""
    port = free_port()
    try:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        skip_or_fail("redis-server is not installed")
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    deadline = time.monotonic() + 10
    while True:
        try:
            cache.set("up", 1)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.usefixtures("stopped_redis")
def test_search_and_station_pages_work_with_redis_down(client: Client, put: Put) -> None:
    station = put(location("R1", lat=52.3712, lon=4.8952))
    assert client.get("/api/v1/stations/?lat=52.37&lon=4.89").status_code == 200
    assert client.get(f"/api/v1/stations/{station.pk}/").status_code == 200
    assert client.get("/api/v1/map/?bbox=4.8,52.3,5.0,52.4&zoom=14").status_code == 200


@pytest.mark.usefixtures("stopped_redis")
def test_writes_and_logins_are_refused_with_503_not_500_with_redis_down(
    client: Client, put
) -> None:  # type: ignore[no-untyped-def]
    station = put(location("R1", lat=52.3712, lon=4.8952))
    verified_user("driver@example.com")
    client.raise_request_exception = False
    login = client.post("/accounts/login/", {"login": "driver@example.com", "password": PASSWORD})
    assert login.status_code == 503
    assert "Retry-After" in login

    client.force_login(get_user_model().objects.get())
    comment = client.post(
        f"/api/v1/stations/{station.pk}/comments/",
        {"body": "Works fine"},
        content_type="application/json",
    )
    assert comment.status_code == 503
    assert "try again" in comment.json()["detail"]
