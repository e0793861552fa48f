"""Operations admin for charging: sessions with their timeline, CDRs held for review and
sessions missing their CDR, and the actions: retry capture, refund (whole or part), resolve."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from payments.models import Payment, Refund
from roaming.models import (
    ChargeDetailRecord,
    ChargingSession,
    Command,
    CommandType,
    Partner,
    SessionState,
)
from roaming.services.sessions import session_note
from tests.conftest import with_authenticator
from tests.roaming.billing import (
    LocalStripe,
    Ocpi,
    cdr_payload,
    cpo_partner,
    driver_make,
    minor,
    session_make,
)

pytestmark = pytest.mark.django_db
SESSIONS = "/admin/roaming/chargingsession/"
CDRS = "/admin/roaming/chargedetailrecord/"
Billing = ChargeDetailRecord.Billing


@pytest.fixture
def ops(client: Client) -> Client:
    admin = get_user_model().objects.create_superuser(
        username="ops", email="ops@example.com", password="a-long-password-1"
    )
    client.force_login(with_authenticator(admin))
    return client


@pytest.fixture
def partner_ocpi(db: None, django_capture_on_commit_callbacks: Any) -> Ocpi:
    """The CPO's side: it POSTs CDRs (billing runs as the worker would)."""
    cpo_partner()
    return Ocpi(Client(), django_capture_on_commit_callbacks)


def billed_session(localstripe: LocalStripe, ocpi: Ocpi, **cdr: Any) -> ChargingSession:
    session = session_make(
        user=driver_make(localstripe),
        partner=Partner.objects.get(),
        state=SessionState.COMPLETED,
    )
    ocpi.post_cdr(cdr_payload(session, **cdr))
    session.refresh_from_db()
    return session


def test_sessions_list_shows_state_driver_operator_and_money(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(localstripe, partner_ocpi, kwh="10")
    html = ops.get(SESSIONS).content.decode()
    for fact in ("Completed", "driver@example.com", "Sandbox CPO", "€50.00", "€5.07", "Billed"):
        assert fact in html, fact
    assert str(session.public_id)[:8] in html
    for action in ("retry_capture", "refund", "mark_resolved"):
        assert f'value="{action}"' in html


def test_session_page_shows_its_whole_timeline(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(localstripe, partner_ocpi, kwh="10")
    Command.objects.create(
        partner=session.partner,
        session=session,
        type=CommandType.START_SESSION,
        status=Command.Status.SUCCEEDED,
        response="ACCEPTED",
        result="ACCEPTED",
        sent_at=session.created_at,
    )
    session_note(session=session, cause="Driver <b>pressed</b> Stop")

    html = ops.get(f"{SESSIONS}{session.pk}/change/").content.decode()

    assert "Start sent: Succeeded (response ACCEPTED, result ACCEPTED)" in html  # command
    assert "Hold of €50.00" in html  # payment
    assert "captured €5.07" in html  # payment log
    assert f"CDR-{session.ocpi_session_id}: €4.72, our tariff gives €4.72; Billed" in html
    assert "Charged €5.07" in html  # billing step on the session timeline
    assert "Driver &lt;b&gt;pressed&lt;/b&gt; Stop" in html  # escaped
    assert html.index("Start sent") < html.index("Charged €5.07")


def test_held_cdr_is_listed_and_retry_capture_bills_it(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(
        localstripe, partner_ocpi, kwh="10", total_cost={"excl_vat": 8.0, "incl_vat": 9.68}
    )
    assert ChargeDetailRecord.objects.get().billing == Billing.REVIEW
    flagged = ops.get(f"{SESSIONS}?attention=yes").content.decode()
    assert str(session.public_id)[:8] in flagged
    review = ops.get(f"{CDRS}?billing__exact=review").content.decode()
    assert "€9.68" in review
    assert "€4.72" in review
    assert "€4.96" in review

    done = ops.post(
        SESSIONS, {"action": "retry_capture", "_selected_action": [session.pk]}, follow=True
    )

    assert "Billed" in done.content.decode()
    payment = Payment.objects.get(pk=session.payment_id)
    assert payment.amount_captured == 968 + ChargeDetailRecord.objects.get().fee
    session.refresh_from_db()
    assert session.needs_attention == ""
    assert any("ops approved billing" in e.cause for e in session.events.all())


def test_sessions_missing_their_cdr_are_listed(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    billed = billed_session(localstripe, partner_ocpi)
    waiting = session_make(
        user=driver_make(localstripe, "waiting"),
        partner=billed.partner,
        state=SessionState.COMPLETED,
        ended_at=timezone.now() - timedelta(hours=2),
    )
    html = ops.get(f"{SESSIONS}?attention=missing_cdr").content.decode()
    assert str(waiting.public_id)[:8] in html
    assert str(billed.public_id)[:8] not in html


def test_refund_part_of_a_charge_with_a_reason(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(localstripe, partner_ocpi, kwh="10")
    form = ops.post(SESSIONS, {"action": "refund", "_selected_action": [session.pk]})
    assert "at most <strong>€5.07</strong> can still be refunded" in form.content.decode()
    submit = {
        "action": "refund",
        "_selected_action": [session.pk],
        "apply": "1",
        "amount": "2.00",
        "reason": "Charger stopped early",
        "request_id": form.context["form"].initial["request_id"],
    }
    done = ops.post(SESSIONS, submit, follow=True)
    ops.post(SESSIONS, submit, follow=True)  # a double submit

    assert "Refunded €2.00 on session" in done.content.decode()
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.reason, refund.created_by.username) == (
        session.payment_id,
        200,
        "Charger stopped early",
        "ops",
    )
    assert len(localstripe.writes("/v1/refunds")) == 1
    assert any(e.cause.startswith("Refunded €2.00 by ops") for e in session.events.all())


def test_whole_refund_of_a_charge_above_the_hold_covers_both_charges(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = session_make(
        user=driver_make(localstripe),
        partner=Partner.objects.get(),
        hold=2000,
        state=SessionState.COMPLETED,
    )
    partner_ocpi.post_cdr(cdr_payload(session, kwh="50"))
    total = minor("50") + ChargeDetailRecord.objects.get().fee
    form = ops.post(SESSIONS, {"action": "refund", "_selected_action": [session.pk]})
    assert form.context["form"].initial["amount"] == f"{total / 100:.2f}"
    ops.post(
        SESSIONS,
        {
            "action": "refund",
            "_selected_action": [session.pk],
            "apply": "1",
            "amount": f"{total / 100:.2f}",
            "reason": "Goodwill",
            "request_id": form.context["form"].initial["request_id"],
        },
    )
    assert sorted(Refund.objects.values_list("amount", flat=True)) == sorted([2000, total - 2000])


def test_refund_above_what_is_left_is_explained_and_nothing_is_refunded(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(localstripe, partner_ocpi, kwh="10")
    response = ops.post(
        SESSIONS,
        {
            "action": "refund",
            "_selected_action": [session.pk],
            "apply": "1",
            "amount": "9.00",
            "reason": "Too much",
            "request_id": "r1",
        },
    )
    assert "At most €5.07 can still be refunded." in response.content.decode()
    assert Refund.objects.count() == 0


def test_staff_without_the_refund_permission_cannot_refund(
    client: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(localstripe, partner_ocpi)
    viewer = get_user_model().objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_chargingsession"))
    client.force_login(with_authenticator(viewer))
    page = client.get(SESSIONS).content.decode()
    assert str(session.public_id)[:8] in page
    assert 'value="refund"' not in page
    assert 'value="retry_capture"' not in page
    client.post(
        SESSIONS,
        {
            "action": "refund",
            "_selected_action": [session.pk],
            "apply": "1",
            "amount": "1.00",
            "reason": "x",
            "request_id": "r2",
        },
    )
    assert Refund.objects.count() == 0


def test_mark_resolved_clears_the_flag_and_closes_held_cdrs(
    ops: Client, partner_ocpi: Ocpi, localstripe: LocalStripe
) -> None:
    session = billed_session(
        localstripe, partner_ocpi, total_cost={"excl_vat": 8.0, "incl_vat": 9.68}
    )
    ops.post(SESSIONS, {"action": "mark_resolved", "_selected_action": [session.pk]})

    session.refresh_from_db()
    assert session.needs_attention == ""
    cdr = ChargeDetailRecord.objects.get()
    assert (cdr.billing, cdr.billing_message) == (Billing.RESOLVED, "Resolved by ops")
    assert Payment.objects.get(pk=session.payment_id).status == Payment.Status.REQUIRES_CAPTURE
    assert any(e.cause == "Marked resolved by ops" for e in session.events.all())
