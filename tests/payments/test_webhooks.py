"""The Stripe webhook: signatures, duplicates, out-of-order events, and each handled type.

localstripe sends only payment_intent.succeeded / payment_failed, so the other events are
built here in Stripe's shape and signed exactly as Stripe signs them (HMAC-SHA256 over
"<timestamp>.<body>" with the endpoint secret).
"""

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import pytest
from django.test import Client

from payments.models import Payment, PaymentMethod, Refund, WebhookEvent
from payments.services import hold_place, payment_method_setup_start
from tests.payments.conftest import VISA, LocalStripe

URL = "/payments/stripe/webhook/"
SECRET = "whsec_test_plugway"


def signed(
    payload: dict[str, Any], *, secret: str = SECRET, at: int | None = None
) -> dict[str, str]:
    body = json.dumps(payload)
    timestamp = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "data": body,
        "content_type": "application/json",
        "HTTP_STRIPE_SIGNATURE": f"t={timestamp},v1={digest}",
    }


def event(event_id: str, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": type_,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }


def post(client: Client, payload: dict[str, Any], capture: Any, **kwargs: Any) -> Any:
    with capture(execute=True):
        return client.post(URL, **signed(payload, **kwargs))


def test_a_bad_signature_is_refused_and_logged(
    db: None,
    localstripe: LocalStripe,
    client: Client,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    payload = event(
        "evt_forged", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}
    )
    with caplog.at_level(logging.WARNING, logger="payments.views"):
        response = post(client, payload, django_capture_on_commit_callbacks, secret="whsec_wrong")
    assert response.status_code == 400
    assert "Rejected a Stripe webhook" in caplog.text
    assert not WebhookEvent.objects.exists()


def test_an_old_signature_is_refused(
    localstripe: LocalStripe, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    payload = event(
        "evt_replayed", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}
    )
    response = post(client, payload, django_capture_on_commit_callbacks, at=int(time.time()) - 301)
    assert response.status_code == 400


def test_a_webhook_without_a_signature_is_refused(
    localstripe: LocalStripe, client: Client, db: None
) -> None:
    assert client.post(URL, data="{}", content_type="application/json").status_code == 400


def _hold(localstripe: LocalStripe, user: Any, reference: str) -> Payment:
    return hold_place(user=user, reference=reference, amount=5000, currency="eur")


def test_a_repeated_event_is_processed_once(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    hold = _hold(localstripe, driver_with_card, "session-w1")
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{hold.stripe_payment_intent_id}/capture",
        {"amount_to_capture": 1500},
    )
    payload = event(
        "evt_1",
        "payment_intent.succeeded",
        {"id": hold.stripe_payment_intent_id, "object": "payment_intent"},
    )

    first = post(client, payload, django_capture_on_commit_callbacks)
    second = post(client, payload, django_capture_on_commit_callbacks)

    assert (first.status_code, first.json()) == (200, {"received": True, "duplicate": False})
    assert (second.status_code, second.json()) == (200, {"received": True, "duplicate": True})
    row = WebhookEvent.objects.get()
    assert (row.status, row.attempts) == (WebhookEvent.Status.PROCESSED, 1)
    hold.refresh_from_db()
    assert hold.status == Payment.Status.CAPTURED
    assert hold.log.filter(action="captured").count() == 1


def test_events_out_of_order_end_in_stripes_state(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    hold = _hold(localstripe, driver_with_card, "session-w2")
    pi_id = hold.stripe_payment_intent_id
    localstripe.request("POST", f"/v1/payment_intents/{pi_id}/cancel", {})
    snapshot = {"id": pi_id, "object": "payment_intent", "status": "requires_capture"}
    # Stripe sends "hold placed" then "canceled"; they arrive the other way round.
    post(
        client,
        event("evt_cancel", "payment_intent.canceled", {**snapshot, "status": "canceled"}),
        django_capture_on_commit_callbacks,
    )
    post(
        client,
        event("evt_placed", "payment_intent.amount_capturable_updated", snapshot),
        django_capture_on_commit_callbacks,
    )

    hold.refresh_from_db()
    assert hold.status == Payment.Status.CANCELED
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 2


def test_a_failed_payment_event_marks_the_authentication_attempt_failed(
    localstripe: LocalStripe, driver: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.payments.conftest import NEEDS_AUTHENTICATION, card_add

    card_add(localstripe, driver, NEEDS_AUTHENTICATION)
    with pytest.raises(Exception):  # noqa: B017, PT011 - authentication_required, tested elsewhere
        _hold(localstripe, driver, "session-w3")
    payment = Payment.objects.get(reference="session-w3")
    secret = localstripe.payment_intent(payment.stripe_payment_intent_id)["client_secret"]
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{payment.stripe_payment_intent_id}/_authenticate?success=false",
        {"key": "pk_test_localstripe", "client_secret": secret},
    )
    post(
        client,
        event("evt_f", "payment_intent.payment_failed", {"id": payment.stripe_payment_intent_id}),
        django_capture_on_commit_callbacks,
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED


def test_a_refund_made_at_stripe_is_recorded_once(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from payments.services import hold_capture

    hold = hold_capture(payment=_hold(localstripe, driver_with_card, "session-w4"), amount=1234)
    refund = localstripe.request(
        "POST", "/v1/refunds", {"payment_intent": hold.stripe_payment_intent_id, "amount": 300}
    )
    charge = localstripe.payment_intent(hold.stripe_payment_intent_id)["latest_charge"]["id"]
    for event_id in ("evt_r1", "evt_r2"):  # two events about the same charge
        post(
            client,
            event(event_id, "charge.refunded", {"id": charge, "object": "charge"}),
            django_capture_on_commit_callbacks,
        )

    recorded = Refund.objects.get()
    assert (recorded.amount, recorded.stripe_refund_id, recorded.status) == (
        300,
        refund["id"],
        "succeeded",
    )


def test_a_card_confirmed_in_the_browser_is_saved_from_the_webhook(
    localstripe: LocalStripe, driver: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # The driver closed the tab before the page could post the confirmed card back.
    setup = payment_method_setup_start(user=driver)
    localstripe.confirm_setup(setup.client_secret, VISA)
    post(
        client,
        event("evt_s", "setup_intent.succeeded", {"id": setup.id, "object": "setup_intent"}),
        django_capture_on_commit_callbacks,
    )
    card = PaymentMethod.objects.get()
    assert (card.account.user, card.last4, card.account.default_payment_method) == (
        driver,
        "4242",
        card,
    )


def test_an_event_type_we_do_not_handle_is_stored_and_ignored(
    localstripe: LocalStripe, client: Client, db: None, django_capture_on_commit_callbacks: Any
) -> None:
    response = post(
        client,
        event("evt_c", "customer.created", {"id": "cus_1", "object": "customer"}),
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_webhook_we_accept(
    localstripe: LocalStripe, driver_with_card: Any, live_server: Any
) -> None:
    localstripe.request(
        "POST",
        "/_config/webhooks/plugway",
        {"url": live_server.url + URL, "secret": SECRET, "events": ["payment_intent.succeeded"]},
    )
    from payments.services import hold_capture

    hold = hold_capture(payment=_hold(localstripe, driver_with_card, "session-w5"), amount=1234)
    # localstripe sends the event about a second later; the endpoint then processes it.
    done = WebhookEvent.objects.filter(
        object_id=hold.stripe_payment_intent_id, status=WebhookEvent.Status.PROCESSED
    )
    deadline = time.monotonic() + 10
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    row = done.get()
    assert (row.type, row.object_id) == ("payment_intent.succeeded", hold.stripe_payment_intent_id)
    assert row.status == WebhookEvent.Status.PROCESSED


def test_a_refund_event_for_our_own_refund_adds_nothing(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from payments.services import hold_capture, refund_issue

    hold = hold_capture(payment=_hold(localstripe, driver_with_card, "session-w6"), amount=1234)
    refund_issue(payment=hold, amount=200, reason="slow charger")
    charge = localstripe.payment_intent(hold.stripe_payment_intent_id)["latest_charge"]["id"]
    post(
        client,
        event("evt_r3", "charge.refunded", {"id": charge, "object": "charge"}),
        django_capture_on_commit_callbacks,
    )
    assert [(r.amount, r.reason) for r in Refund.objects.all()] == [(200, "slow charger")]


@pytest.mark.usefixtures("broker_unreachable")
def test_an_event_received_while_the_broker_is_down_is_processed_once_it_is_back(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Stored with its processing in one transaction, answered 200 at once, and processed
    by the outbox relay, which beat runs every 5 s (not at the next reconciliation)."""
    from datetime import timedelta

    from django.conf import settings

    from config.celery import app as celery_app
    from config.models import PendingTask
    from config.tasks import pending_tasks_relay

    hold = _hold(localstripe, driver_with_card, "session-w7")
    localstripe.request("POST", f"/v1/payment_intents/{hold.stripe_payment_intent_id}/cancel", {})
    payload = event("evt_q", "payment_intent.canceled", {"id": hold.stripe_payment_intent_id})

    started = time.monotonic()
    response = post(client, payload, django_capture_on_commit_callbacks)

    assert response.status_code == 200  # stored; Stripe need not retry
    assert time.monotonic() - started < 4  # Celery's own publish retries alone took 6 s
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED
    queued = PendingTask.objects.get()
    assert (queued.task, queued.args, queued.sent_at) == (
        "payments.tasks.webhook_event_process",
        [WebhookEvent.objects.get().pk],
        None,
    )
    assert "Connection refused" in queued.last_error

    celery_app.conf.task_always_eager = True  # the broker is back (in-process here)
    relay = settings.CELERY_BEAT_SCHEDULE["outbox-relay"]
    assert relay["task"] == pending_tasks_relay.name
    assert relay["schedule"] <= timedelta(seconds=5)
    assert pending_tasks_relay() == 1
    hold.refresh_from_db()
    assert hold.status == Payment.Status.CANCELED
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def _crashing_handler(event: WebhookEvent) -> str:
    return event.payload["data"]["object"]["no such field"]  # a bug: raises KeyError


def test_an_event_whose_handling_crashes_is_recorded_as_failed_with_the_error(
    localstripe: LocalStripe,
    client: Client,
    db: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from payments.services import sync

    monkeypatch.setitem(sync.HANDLERS, "payment_intent.succeeded", _crashing_handler)
    payload = event(
        "evt_bug", "payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"}
    )
    with caplog.at_level(logging.ERROR, logger="payments.services.sync"):
        response = post(client, payload, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert (row.status, row.error) == (WebhookEvent.Status.FAILED, "KeyError: 'no such field'")
    assert any(r.exc_info and "evt_bug" in r.getMessage() for r in caplog.records)


@pytest.mark.usefixtures("broker_unreachable")
def test_an_event_whose_handling_crashes_does_not_stop_the_relay(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from config.celery import app as celery_app
    from config.tasks import pending_tasks_relay
    from payments.services import sync

    monkeypatch.setitem(sync.HANDLERS, "payment_intent.succeeded", _crashing_handler)
    canceled = _hold(localstripe, driver_with_card, "session-w8")
    localstripe.request(
        "POST", f"/v1/payment_intents/{canceled.stripe_payment_intent_id}/cancel", {}
    )
    # Two events received while the broker was down; the crashing one is relayed first.
    for event_id, type_, pi_id in [
        ("evt_bad", "payment_intent.succeeded", "pi_whatever"),
        ("evt_ok", "payment_intent.canceled", canceled.stripe_payment_intent_id),
    ]:
        response = post(
            client, event(event_id, type_, {"id": pi_id}), django_capture_on_commit_callbacks
        )
        assert response.status_code == 200

    celery_app.conf.task_always_eager = True
    assert pending_tasks_relay() == 2

    assert WebhookEvent.objects.get(stripe_event_id="evt_bad").status == WebhookEvent.Status.FAILED
    assert WebhookEvent.objects.get(stripe_event_id="evt_ok").status == "processed"
    canceled.refresh_from_db()
    assert canceled.status == Payment.Status.CANCELED


def test_a_card_setup_without_a_customer_is_given_to_nobody(
    localstripe: LocalStripe, driver: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from payments.services import billing_account_get_or_create

    account = billing_account_get_or_create(user=driver)  # no Stripe customer yet
    setup = localstripe.request("POST", "/v1/setup_intents", {"usage": "off_session"})
    localstripe.confirm_setup(setup["client_secret"], VISA)
    post(
        client,
        event("evt_s2", "setup_intent.succeeded", {"id": setup["id"], "object": "setup_intent"}),
        django_capture_on_commit_callbacks,
    )
    row = WebhookEvent.objects.get()
    assert (row.status, row.error) == ("processed", "the card setup has no customer")
    account.refresh_from_db()
    assert account.stripe_customer_id is None
    assert not PaymentMethod.objects.exists()
    assert localstripe.writes("/v1/customers") == []


def test_a_refund_made_at_stripe_by_another_tool_with_its_own_refund_id_is_recorded(
    localstripe: LocalStripe,
    driver_with_card: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from payments.services import hold_capture

    hold = hold_capture(payment=_hold(localstripe, driver_with_card, "session-w10"), amount=1234)
    localstripe.request(
        "POST",
        "/v1/refunds",
        {
            "payment_intent": hold.stripe_payment_intent_id,
            "amount": 300,
            "metadata": {"refund_id": "zendesk-881"},
        },
    )
    charge = localstripe.payment_intent(hold.stripe_payment_intent_id)["latest_charge"]["id"]
    post(
        client,
        event("evt_r4", "charge.refunded", {"id": charge, "object": "charge"}),
        django_capture_on_commit_callbacks,
    )
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert [(r.amount, r.reason) for r in Refund.objects.all()] == [(300, "Refunded at Stripe")]
