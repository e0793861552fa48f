"""On a real Celery worker (Redis): a webhook is processed by the worker after the endpoint's
commit, and one received while Redis is stopped once Redis is started again."""

import time
from typing import Any

import pytest
from django.test import Client

from config.models import PendingTask
from config.outbox import pending_tasks_relay
from payments.models import Payment, WebhookEvent
from payments.services import hold_place
from tests.conftest import CeleryWorker, RedisServer
from tests.payments.conftest import LocalStripe
from tests.payments.test_webhooks import URL, event, signed

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(
    worker_database: None, monkeypatch: pytest.MonkeyPatch, localstripe: LocalStripe
) -> None:
    """The worker process must use this test's localstripe."""
    monkeypatch.setenv("STRIPE_API_BASE", localstripe.url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test_plugway")


def test_a_webhook_is_processed_by_the_worker_after_the_commit(
    worker_env: None,
    localstripe: LocalStripe,
    driver_with_card: Any,
    celery_worker: CeleryWorker,
    default_queue: None,
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-k2", amount=5000, currency="eur")
    localstripe.request("POST", f"/v1/payment_intents/{hold.stripe_payment_intent_id}/cancel", {})
    payload = event("evt_k2", "payment_intent.canceled", {"id": hold.stripe_payment_intent_id})

    response = Client().post(URL, **signed(payload))

    assert response.status_code == 200
    deadline = time.monotonic() + 30
    processed = WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED)
    while not processed.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    hold.refresh_from_db()
    assert hold.status == Payment.Status.CANCELED


def test_a_webhook_received_while_redis_is_down_is_processed_once_it_is_back(
    worker_env: None,
    localstripe: LocalStripe,
    driver_with_card: Any,
    own_broker: RedisServer,
    celery_worker: CeleryWorker,
    default_queue: None,
) -> None:
    """Issue 16, attack 7: the event waited for the half-hourly sweep. Now the endpoint answers
    at once with the broker stopped, and the worker processes the event within seconds of the
    broker's return (beat's relay runs every 5 s; here the test runs it, as beat would)."""
    hold = hold_place(user=driver_with_card, reference="session-k3", amount=5000, currency="eur")
    localstripe.request("POST", f"/v1/payment_intents/{hold.stripe_payment_intent_id}/cancel", {})
    payload = event("evt_k3", "payment_intent.canceled", {"id": hold.stripe_payment_intent_id})
    own_broker.stop()

    started = time.monotonic()
    response = Client().post(URL, **signed(payload))

    assert response.status_code == 200
    assert time.monotonic() - started < 4  # Celery's own publish retries alone took 6 s
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED
    assert PendingTask.objects.get(task="payments.tasks.webhook_event_process").sent_at is None

    own_broker.start()
    deadline = time.monotonic() + 60
    while not pending_tasks_relay() and time.monotonic() < deadline:
        time.sleep(0.5)
    processed = WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED)
    while not processed.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    hold.refresh_from_db()
    assert hold.status == Payment.Status.CANCELED
    assert processed.exists()
