"""On a real Celery worker (Redis): a webhook is processed by the worker after the endpoint's
commit."""

import time
from typing import Any

import pytest
from django.test import Client

from payments.models import Payment, WebhookEvent
from payments.services import hold_place
from tests.conftest import CeleryWorker
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
