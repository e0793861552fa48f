"""A CDR and the work to bill it are stored in one transaction (config.outbox): with the broker
down the partner's POST is still answered at once, and the CDR is billed, once, when the relay
can send its billing."""

import time
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from config.celery import app as celery_app
from config.models import PendingTask
from config.outbox import pending_tasks_relay
from payments.models import Payment
from roaming.models import ChargeDetailRecord, SessionState
from roaming.services.cdrs import UNBILLED_AFTER, cdrs_unbilled_requeue
from roaming.tasks import cdr_bill_task, cdrs_unbilled_requeue_task
from tests.roaming.billing import (
    LocalStripe,
    Ocpi,
    cdr_payload,
    cpo_partner,
    driver_make,
    session_make,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cdr_received_while_the_broker_is_down_is_billed_once_it_is_back(
    localstripe: LocalStripe, broker_unreachable: str
) -> None:
    session = session_make(
        user=driver_make(localstripe), partner=cpo_partner(), state=SessionState.COMPLETED
    )
    ocpi = Ocpi(Client(), on_commit=lambda **_: nullcontext())

    started = time.monotonic()
    response = ocpi.post_cdr(cdr_payload(session, kwh="10"))

    assert response.status_code == 201
    assert time.monotonic() - started < 4  # Celery's own publish retries alone took 6 s
    cdr = ChargeDetailRecord.objects.get()
    assert cdr.billing == ChargeDetailRecord.Billing.PENDING
    [billing] = PendingTask.objects.filter(task=cdr_bill_task.name)
    assert (billing.args, billing.sent_at) == ([cdr.pk], None)

    celery_app.conf.task_always_eager = True  # the broker is back (in-process here)
    pending_tasks_relay()
    pending_tasks_relay()  # a second relay round sends nothing again

    cdr.refresh_from_db()
    assert cdr.billing == ChargeDetailRecord.Billing.BILLED
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_captured) == (Payment.Status.CAPTURED, cdr.amount)
    assert localstripe.writes("/capture") == [
        f"/v1/payment_intents/{payment.stripe_payment_intent_id}/capture"
    ]


def test_a_cdr_whose_billing_task_was_lost_is_billed_by_the_sweep(
    localstripe: LocalStripe, broker_unreachable: str
) -> None:
    """Issue 16: a billing task the broker took but no worker finished (a worker that died past
    redelivery, an outage longer than the retries) left the CDR unbilled for good."""
    session = session_make(
        user=driver_make(localstripe), partner=cpo_partner(), state=SessionState.COMPLETED
    )
    Ocpi(Client(), on_commit=lambda **_: nullcontext()).post_cdr(cdr_payload(session, kwh="10"))
    PendingTask.objects.update(sent_at=timezone.now())  # the broker took it; it was lost
    assert cdrs_unbilled_requeue() == 0  # just arrived: its billing may still be under way

    long_ago = timezone.now() - UNBILLED_AFTER - timedelta(minutes=1)
    ChargeDetailRecord.objects.update(received_at=long_ago)
    PendingTask.objects.update(created_at=long_ago)
    assert cdrs_unbilled_requeue() == 1
    assert cdrs_unbilled_requeue() == 0  # queued again just now: once is enough

    celery_app.conf.task_always_eager = True
    pending_tasks_relay()

    cdr = ChargeDetailRecord.objects.get()
    assert cdr.billing == ChargeDetailRecord.Billing.BILLED
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_captured) == (Payment.Status.CAPTURED, cdr.amount)
    assert len(localstripe.writes("/capture")) == 1
    assert cdrs_unbilled_requeue() == 0
    sweep = settings.CELERY_BEAT_SCHEDULE["roaming-cdrs-unbilled"]
    assert sweep["task"] == cdrs_unbilled_requeue_task.name
    assert sweep["schedule"] < UNBILLED_AFTER


def test_a_cdr_not_stored_leaves_no_billing_behind(
    localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    from roaming.services import cdrs

    session = session_make(
        user=driver_make(localstripe), partner=cpo_partner(), state=SessionState.COMPLETED
    )

    def session_note_fails(**kwargs: Any) -> None:
        raise RuntimeError("the database went away mid-transaction")

    monkeypatch.setattr(cdrs, "session_note", session_note_fails)
    with pytest.raises(RuntimeError):
        Ocpi(Client(), on_commit=lambda **_: nullcontext()).post_cdr(cdr_payload(session))

    assert not ChargeDetailRecord.objects.exists()
    assert not PendingTask.objects.exists()
