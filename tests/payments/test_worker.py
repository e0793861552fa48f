"""On a real Celery worker (Redis): a storm of capture tasks captures once, and a webhook is
processed by the worker after the endpoint's commit."""

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from config.celery import app as celery_app
from payments.models import Payment, WebhookEvent
from payments.services import hold_place
from payments.tasks import payment_capture
from tests.conftest import CeleryWorker
from tests.payments.conftest import LocalStripe
from tests.payments.test_webhooks import URL, event, signed

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker process must use the test database and this test's localstripe."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    monkeypatch.setenv(
        "DATABASE_URL", url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    )
    monkeypatch.setenv("STRIPE_API_BASE", localstripe.url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test_plugway")


@pytest.fixture
def default_queue(celery_worker: CeleryWorker) -> Iterator[None]:
    """Tasks sent without a queue (the webhook's) go to the test worker's queue."""
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = celery_worker.queue
    yield
    celery_app.conf.task_default_queue = previous


def test_twenty_capture_tasks_on_a_real_worker_capture_once(
    worker_env: None, localstripe: LocalStripe, driver_with_card: Any, celery_worker: CeleryWorker
) -> None:
    hold = hold_place(user=driver_with_card, reference="session-k1", amount=5000, currency="eur")
    results = [
        payment_capture.apply_async((hold.pk, 1234), queue=celery_worker.queue) for _ in range(20)
    ]
    assert {result.get(timeout=60) for result in results} == {"captured"}
    assert len(localstripe.writes("/capture")) == 1
    assert localstripe.payment_intent(hold.stripe_payment_intent_id)["status"] == "succeeded"
    hold.refresh_from_db()
    assert (hold.status, hold.amount_captured) == (Payment.Status.CAPTURED, 1234)


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
