import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from tests.conftest import CeleryWorker

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True


def test_healthz_is_unavailable_when_the_cache_is_down(client: Client, settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.worker
def test_healthz_sees_a_running_worker(client: Client, celery_worker: CeleryWorker) -> None:
    worker = client.get("/healthz").json()["checks"]["worker"]
    assert worker["ok"] is True
    assert worker["workers"] >= 1
