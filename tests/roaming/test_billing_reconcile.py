"""The nightly billing reconciliation: each kind of difference between the partner's CDRs (the
sandbox CPO's CDRs sender on loopback), ours, and Stripe's captures (localstripe) is planted
and reported to admins once: a row in the admin and an email to staff and ADMINS."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from config.celery import app as celery_app
from config.models import PendingTask
from config.outbox import pending_tasks_relay
from payments.models import Payment
from roaming.adapters import adapter_for
from roaming.models import BillingDifference, ChargeDetailRecord, ChargingSession, Partner
from roaming.services.billing_reconcile import billing_reconcile
from roaming.services.cdrs import cdr_receive
from roaming.tasks import cdr_bill_task
from tests.roaming.billing import LocalStripe, cdr_payload
from tests.roaming.test_cdrs_missing import ended_session, on_the_sender, sandbox  # noqa: F401
from tests.sandbox.fixtures import SandboxHandle

pytestmark = pytest.mark.django_db(transaction=True)
Kind = BillingDifference.Kind


def received(partner: Partner, session: ChargingSession, *, billing_lost: bool = False) -> Any:
    """The partner POSTs the session's CDR; with `billing_lost`, its billing task is lost
    after the relay sent it (Redis restarted without its data)."""
    record = adapter_for(partner).cdr_parse(cdr_payload(session, kwh="10"))
    celery_app.conf.task_always_eager = not billing_lost
    cdr, _ = cdr_receive(partner=partner, record=record)
    celery_app.conf.task_always_eager = True
    if billing_lost:
        PendingTask.objects.filter(task=cdr_bill_task.name, args=[cdr.pk]).update(
            sent_at=timezone.now()
        )
    cdr.refresh_from_db()
    return cdr


def test_each_kind_of_difference_is_reported_to_admins_once(
    sandbox: tuple[SandboxHandle, Partner],  # noqa: F811
    localstripe: LocalStripe,
    broker_unreachable: str,
    settings: Settings,
    admin_client: Client,
) -> None:
    handle, partner = sandbox
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.SITE_NAME = "Voltly"
    get_user_model().objects.filter(is_superuser=True).update(email="admin@example.com")

    def charge(ended_ago: timedelta = timedelta(minutes=30)) -> ChargingSession:
        return ended_session(
            localstripe, partner, ended_ago=ended_ago, driver=f"d{ChargingSession.objects.count()}"
        )

    # Billed as it should be: no difference.
    fine = received(partner, charge())
    assert fine.billing == ChargeDetailRecord.Billing.BILLED
    # The partner lists a CDR of ours that never reached us.
    lost_post = charge()
    on_the_sender(handle, cdr_payload(lost_post, kwh="10"))
    # Received, but its billing never ran.
    unbilled = received(partner, charge(), billing_lost=True)
    # Billed in our books, never captured at Stripe.
    uncaptured = received(partner, charge(), billing_lost=True)
    ChargeDetailRecord.objects.filter(pk=uncaptured.pk).update(billing="billed")
    Payment.objects.filter(pk=uncaptured.session.payment_id).update(
        status=Payment.Status.CAPTURED, amount_captured=uncaptured.amount
    )
    # Captured at Stripe for another amount than we recorded.
    differs = received(partner, charge())
    Payment.objects.filter(pk=differs.session.payment_id).update(
        amount_captured=differs.amount + 100
    )
    # Captured at Stripe by hand, with no CDR.
    by_hand = charge().payment
    localstripe.request(
        "POST", f"/v1/payment_intents/{by_hand.stripe_payment_intent_id}/capture", {}
    )
    mail.outbox.clear()
    celery_app.conf.task_always_eager = False  # as in production, with the broker down

    tomorrow_night = timezone.now() + timedelta(hours=2)
    found = billing_reconcile(now=tomorrow_night)

    assert sorted((d.kind, d.subject) for d in found) == sorted(
        [
            (Kind.CDR_MISSING, f"CDR NL*SBX CDR-{lost_post.ocpi_session_id}"),
            (Kind.UNBILLED, str(unbilled)),
            (Kind.NOT_CAPTURED, str(uncaptured)),
            (Kind.AMOUNT_DIFFERS, str(differs)),
            (Kind.CAPTURE_WITHOUT_CDR, f"Stripe charge {_charge_id(localstripe, by_hand)}"),
        ]
    )
    amount_differs = BillingDifference.objects.get(kind=Kind.AMOUNT_DIFFERS)
    assert amount_differs.detail == (
        f"We recorded €{(differs.amount + 100) / 100:.2f} captured on payment "
        f"{differs.session.payment.reference}; Stripe captured €{differs.amount / 100:.2f}."
    )
    assert by_hand.reference in BillingDifference.objects.get(kind=Kind.CAPTURE_WITHOUT_CDR).detail

    # One email to staff and ADMINS, queued in the outbox (the broker is down), sent once
    # the relay can.
    [report] = PendingTask.objects.filter(task="config.tasks.email_send", sent_at=None)
    assert report.kwargs["to"] == ["admin@example.com", "ops@example.com"]
    assert report.kwargs["subject"] == "[Voltly] Billing reconciliation: 5 new difference(s)"
    for difference in found:
        assert difference.subject in report.kwargs["body"]
    assert "/admin/roaming/billingdifference/" in report.kwargs["body"]
    celery_app.conf.task_always_eager = True  # the broker is back (in-process here)
    assert pending_tasks_relay() == 1
    [sent] = mail.outbox
    assert sent.to == ["admin@example.com", "ops@example.com"]

    # The admin lists them; a second night reports nothing new.
    page = admin_client.get("/admin/roaming/billingdifference/").content.decode()
    for difference in found:
        assert difference.subject in page
    assert billing_reconcile(now=tomorrow_night + timedelta(days=1)) == []
    reports = PendingTask.objects.filter(
        kwargs__subject__startswith="[Voltly] Billing reconciliation"
    )
    assert reports.count() == 1
    assert django_settings.CELERY_BEAT_SCHEDULE["roaming-billing-reconcile"]["task"] == (
        "roaming.tasks.billing_reconcile_task"
    )


def _charge_id(localstripe: LocalStripe, payment: Payment) -> str:
    charge_id: str = localstripe.payment_intent(payment.stripe_payment_intent_id or "")["charges"][
        "data"
    ][0]["id"]
    return charge_id
