"""Our CDRs receiver and billing: a partner POSTs the CDR of a charge, we capture the hold for
its cost plus our fee (localstripe on loopback), write and email the receipt; or we hold it for
an admin, refund a credit CDR, and refuse what a partner may not send."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from payments.models import Payment, Receipt, Refund
from payments.services import hold_release
from roaming.models import ChargeDetailRecord, ChargingSession, DriverToken, Partner, SessionState
from roaming.tasks import cdr_bill_task
from tests.payments.conftest import DECLINES_ON_CHARGE, card_add
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
Billing = ChargeDetailRecord.Billing


@pytest.fixture
def cpo(db: None) -> Partner:
    return cpo_partner()


@pytest.fixture
def ocpi(client: Client, cpo: Partner, django_capture_on_commit_callbacks: Any) -> Ocpi:
    return Ocpi(client, django_capture_on_commit_callbacks)


@pytest.fixture
def driver(localstripe: LocalStripe) -> Any:
    return driver_make(localstripe)


def charge(localstripe: LocalStripe, payment: Payment) -> dict[str, Any]:
    """What localstripe holds for the payment's PaymentIntent: its one charge."""
    pi = localstripe.payment_intent(payment.stripe_payment_intent_id or "")
    return {"status": pi["status"], **pi["charges"]["data"][0]}


def test_cdr_captures_its_cost_plus_fee_and_releases_the_rest(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, settings: Settings
) -> None:
    settings.CHARGING_FEE = 35
    session = session_make(user=driver, partner=cpo, hold=5000, state=SessionState.COMPLETED)
    response = ocpi.post_cdr(cdr_payload(session, kwh="10"))

    assert response.status_code == 201, response.content
    assert response.json()["status_code"] == 1000
    expected = minor("10") + 35  # €4.72 for 10 kWh at €0.39 + 21 % VAT, plus our €0.35
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_captured) == (Payment.Status.CAPTURED, expected)
    stripe_charge = charge(localstripe, payment)
    assert stripe_charge["status"] == "succeeded"
    assert stripe_charge["amount"] - stripe_charge["amount_refunded"] == expected
    assert stripe_charge["amount_refunded"] == 5000 - expected  # the rest of the hold released
    receipt = Receipt.objects.get(payment=payment)
    assert receipt.amount == expected
    cdr = ChargeDetailRecord.objects.get()
    assert (cdr.billing, cdr.total_cost, cdr.expected_cost, cdr.fee, cdr.amount) == (
        Billing.BILLED,
        minor("10"),
        minor("10"),
        35,
        expected,
    )
    [email] = mail.outbox
    assert email.to == [driver.email]
    assert receipt.number in email.subject
    assert "€5.07" in email.body
    assert f"/receipts/{session.public_id}/" in email.body
    timeline = [event.cause for event in session.events.all()]
    assert any(cause.startswith("The operator's bill CDR-") for cause in timeline)
    assert any(cause.startswith("Charged €5.07") for cause in timeline)


def test_cdr_twice_charges_once_and_is_read_back_at_its_location(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    payload = cdr_payload(session)
    first = ocpi.post_cdr(payload)
    second = ocpi.post_cdr(payload)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first["Location"] == second["Location"]
    assert first["Location"].endswith(f"/ocpi/2.2.1/cdrs/NL/SBX/{payload['id']}")
    assert ChargeDetailRecord.objects.count() == 1
    assert len(localstripe.writes("/capture")) == 1
    assert Receipt.objects.count() == 1
    assert len(mail.outbox) == 1
    stored = ocpi.get(first["Location"])
    assert stored.status_code == 200
    assert stored.json()["data"] == payload


def test_cdr_above_the_hold_captures_the_hold_and_charges_the_excess(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, settings: Settings
) -> None:
    settings.CHARGING_FEE = 35
    session = session_make(user=driver, partner=cpo, hold=2000)
    ocpi.post_cdr(cdr_payload(session, kwh="50"))  # €23.60 + €0.35 on a €20.00 hold

    total = minor("50") + 35
    hold = Payment.objects.get(pk=session.payment_id)
    excess = Payment.objects.get(kind=Payment.Kind.EXCESS)
    assert (hold.amount_captured, excess.amount, excess.amount_captured) == (
        2000,
        total - 2000,
        total - 2000,
    )
    assert charge(localstripe, excess)["status"] == "succeeded"
    assert Receipt.objects.get().amount == total


def test_cdr_far_from_our_tariff_is_held_for_an_admin_and_not_charged(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, settings: Settings
) -> None:
    settings.CHARGING_CDR_TOLERANCE = 50
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    payload = cdr_payload(session, kwh="10")
    payload["total_cost"] = {"excl_vat": 8.0, "incl_vat": 9.68}  # the tariff gives €4.72

    assert ocpi.post_cdr(payload).status_code == 201

    cdr = ChargeDetailRecord.objects.get()
    assert cdr.billing == Billing.REVIEW
    assert "€9.68" in cdr.billing_message
    assert "€4.72" in cdr.billing_message
    session.refresh_from_db()
    assert "€9.68" in session.needs_attention
    assert localstripe.writes("/capture") == []
    assert Payment.objects.get(pk=session.payment_id).status == Payment.Status.REQUIRES_CAPTURE
    assert mail.outbox == []


def test_cdr_within_tolerance_is_billed_at_the_cdr_cost(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, settings: Settings
) -> None:
    settings.CHARGING_CDR_TOLERANCE = 50
    settings.CHARGING_FEE = 0
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    payload = cdr_payload(session, kwh="10")
    payload["total_cost"] = {"excl_vat": 4.2, "incl_vat": 5.08}  # 36 cents above the tariff
    ocpi.post_cdr(payload)

    assert ChargeDetailRecord.objects.get().billing == Billing.BILLED
    assert Payment.objects.get(pk=session.payment_id).amount_captured == 508


def test_credit_cdr_refunds_its_amount_on_the_original_capture(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    original = cdr_payload(session, kwh="10")
    ocpi.post_cdr(original)
    credit = cdr_payload(
        session,
        id=f"{original['id']}-C",
        credit=True,
        credit_reference_id=original["id"],
        total_cost={"excl_vat": -1.6529, "incl_vat": -2.0},
    )

    assert ocpi.post_cdr(credit).status_code == 201

    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.status) == (
        session.payment_id,
        200,
        Refund.Status.SUCCEEDED,
    )
    assert ChargeDetailRecord.objects.get(cdr_id=credit["id"]).billing == Billing.REFUNDED
    payment = Payment.objects.get(pk=session.payment_id)
    refunds = localstripe.request(
        "GET", f"/v1/refunds?payment_intent={payment.stripe_payment_intent_id}"
    )
    # localstripe lists the release of the hold's uncaptured part as a refund too.
    assert sorted(r["amount"] for r in refunds["data"]) == sorted(
        [200, 5000 - payment.amount_captured]
    )
    assert any("Refunded €2.00" in event.cause for event in session.events.all())
    # The same credit CDR again refunds nothing more.
    ocpi.post_cdr(credit)
    assert Refund.objects.count() == 1


def test_cdr_before_the_last_patch_completes_the_session_and_bills_it(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    session = session_make(user=driver, partner=cpo, state=SessionState.ACTIVE)
    payload = cdr_payload(session, kwh="7.5")
    ocpi.post_cdr(payload)

    session.refresh_from_db()
    assert session.state == SessionState.COMPLETED
    assert session.kwh == pytest.approx(7.5)
    assert session.ended_at is not None
    assert ChargeDetailRecord.objects.get().billing == Billing.BILLED
    assert Payment.objects.get(pk=session.payment_id).status == Payment.Status.CAPTURED
    completed = session.events.get(to_state=SessionState.COMPLETED)
    assert "before the operator reported the end" in completed.cause


def test_cdr_is_matched_by_authorization_reference_then_by_token_and_time(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    by_reference = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    payload = cdr_payload(by_reference, session_id="UNKNOWN-1")
    ocpi.post_cdr(payload)
    assert ChargeDetailRecord.objects.get(cdr_id=payload["id"]).session_id == by_reference.pk

    # A session the driver started at the charger: neither id nor reference is known to us.
    at_the_charger = session_make(
        user=driver,
        partner=cpo,
        state=SessionState.COMPLETED,
        started_at=timezone.now() - timedelta(hours=5),
    )
    payload = cdr_payload(at_the_charger, id="CDR-CHARGER", session_id="UNKNOWN-2")
    del payload["authorization_reference"]
    ocpi.post_cdr(payload)
    cdr = ChargeDetailRecord.objects.get(cdr_id="CDR-CHARGER")
    assert (cdr.session_id, cdr.billing) == (at_the_charger.pk, Billing.BILLED)


def test_cdr_matching_no_session_is_kept_unmatched_and_charges_nothing(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    session = session_make(user=driver, partner=cpo, started_at=timezone.now() - timedelta(days=3))
    payload = cdr_payload(
        session,
        session_id="NOT-OURS",
        start_date_time="2026-01-01T10:00:00Z",
        end_date_time="2026-01-01T11:00:00Z",
    )
    del payload["authorization_reference"]

    assert ocpi.post_cdr(payload).status_code == 201
    assert ChargeDetailRecord.objects.get().billing == Billing.UNMATCHED
    assert localstripe.writes("/capture") == []


def test_partner_cannot_post_a_cdr_for_another_party_or_another_emsps_token(
    client: Client, ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    other = cpo_partner(name="Other CPO", party_id="OTH", token="other-token")
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    payload = cdr_payload(session)

    foreign = Ocpi(client, ocpi.on_commit, token="other-token").post_cdr(
        payload
    )  # NL*SBX is not its party
    assert foreign.status_code == 404
    assert "not your party" in foreign.json()["status_message"]

    payload = cdr_payload(session)
    payload["cdr_token"] = {**payload["cdr_token"], "party_id": "XYZ"}
    stranger = ocpi.post_cdr(payload)
    assert (stranger.status_code, stranger.json()["status_code"]) == (404, 2004)
    unknown = cdr_payload(session)
    unknown["cdr_token"] = {**unknown["cdr_token"], "uid": "NOBODY"}
    assert ocpi.post_cdr(unknown).json()["status_code"] == 2004

    assert ChargeDetailRecord.objects.count() == 0
    assert localstripe.writes("/capture") == []
    # Nor may it read another party's CDRs back.
    ocpi.post_cdr(cdr_payload(session))
    location = f"/ocpi/2.2.1/cdrs/NL/SBX/CDR-{session.ocpi_session_id}"
    assert Ocpi(client, ocpi.on_commit, token="other-token").get(location).status_code == 404
    assert other.cdrs.count() == 0


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "CDR"),
        (b'"a string"', "CDR"),
        (b"{}", "country_code"),
    ],
)
def test_garbage_is_refused_with_2001_not_a_server_error(
    ocpi: Ocpi, body: bytes, complaint: str
) -> None:
    response = ocpi.post_cdr(raw=body)
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
    assert complaint in response.json()["status_message"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"total_cost": {"excl_vat": -3, "incl_vat": -3.63}}, "not a credit CDR"),
        ({"total_cost": {"excl_vat": 1e12}}, "total_cost is beyond"),
        ({"total_energy": 1e30}, "total_energy"),
        ({"credit": True, "total_cost": {"excl_vat": -1}}, "credit_reference_id"),
        ({"end_date_time": "2001-01-01T00:00:00Z"}, "before start_date_time"),
        ({"charging_periods": []}, "charging_periods"),
        ({"currency": "euro"}, "currency"),
        ({"start_date_time": "yesterday"}, "start_date_time"),
        ({"id": "x" * 40}, "id"),
        ({"remark": "nul \u0000 byte"}, "remark: Value error, contains a NUL"),
        (
            {
                "charging_periods": [
                    {
                        "start_date_time": "2026-01-01T10:00:00Z",
                        "dimensions": [{"type": "ENERGY", "volume": -5}],
                    }
                ]
            },
            "ENERGY is out of range",
        ),
    ],
)
def test_invalid_cdrs_are_refused_with_2001_naming_the_problem(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, change: dict, complaint: str
) -> None:
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    response = ocpi.post_cdr(cdr_payload(session, **change))
    assert response.status_code == 400, response.content
    assert response.json()["status_code"] == 2001
    assert complaint in response.json()["status_message"]
    assert ChargeDetailRecord.objects.count() == 0


def test_a_cdr_for_an_unknown_url_or_without_a_token_is_refused(client: Client, ocpi: Ocpi) -> None:
    assert (
        client.post("/ocpi/2.2.1/cdrs", data="{}", content_type="application/json").status_code
        == 401
    )
    assert ocpi.get("/ocpi/2.2.1/cdrs/NL/SBX/NOPE").status_code == 404


def test_our_version_details_offer_the_cdrs_receiver(ocpi: Ocpi) -> None:
    endpoints = ocpi.get("/ocpi/2.2.1/").json()["data"]["endpoints"]
    assert {
        "identifier": "cdrs",
        "role": "RECEIVER",
        "url": "http://testserver/ocpi/2.2.1/cdrs",
    } in [
        {**e, "url": e["url"].replace(e["url"].split("/ocpi/")[0], "http://testserver")}
        for e in endpoints
    ]


def test_capture_stripe_could_not_take_is_retried_and_bills_once(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, flaky_stripe: Any
) -> None:
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    pi = Payment.objects.get(pk=session.payment_id).stripe_payment_intent_id
    flaky_stripe.fail_once("POST", f"/v1/payment_intents/{pi}/capture")

    ocpi.post_cdr(cdr_payload(session))

    cdr = ChargeDetailRecord.objects.get()
    assert cdr.billing == Billing.PENDING  # the task asked Celery to retry it later
    assert any("Capture to retry" in e.cause for e in session.events.all())
    assert mail.outbox == []
    with ocpi.on_commit(execute=True):
        assert cdr_bill_task.delay(cdr.pk).get() == Billing.BILLED  # the retry
        assert cdr_bill_task.delay(cdr.pk).get() == Billing.BILLED  # a redelivery: no more
    assert Payment.objects.get(pk=session.payment_id).status == Payment.Status.CAPTURED
    assert len(localstripe.writes("/capture")) == 1  # the failed try never reached Stripe
    assert len(mail.outbox) == 1


def test_billing_a_payment_another_worker_holds_is_left_to_it_not_to_an_admin(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    """A copy of the billing task (a redelivery) meeting the worker that is capturing: it tries
    again when that claim ends, and after its last try leaves the CDR to that worker."""
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    Payment.objects.filter(pk=session.payment_id).update(
        status=Payment.Status.CAPTURING, locked_until=timezone.now() + timedelta(minutes=1)
    )

    ocpi.post_cdr(cdr_payload(session))  # finds it held: asks Celery to retry
    cdr = ChargeDetailRecord.objects.get()

    last = cdr_bill_task.apply(args=[cdr.pk], retries=cdr_bill_task.max_retries)

    assert last.get() == Billing.PENDING
    cdr.refresh_from_db()
    assert (cdr.billing, cdr.billing_message) == (Billing.PENDING, "")
    assert ChargingSession.objects.get(pk=session.pk).needs_attention == ""
    assert localstripe.writes("/capture") == []


def test_capture_still_failing_after_the_last_retry_waits_for_an_admin(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, flaky_stripe: Any
) -> None:
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    pi = Payment.objects.get(pk=session.payment_id).stripe_payment_intent_id
    flaky_stripe.fail_once("POST", f"/v1/payment_intents/{pi}/capture")
    flaky_stripe.fail_once("POST", f"/v1/payment_intents/{pi}/capture")
    ocpi.post_cdr(cdr_payload(session))
    cdr = ChargeDetailRecord.objects.get()

    last = cdr_bill_task.apply(args=[cdr.pk], retries=cdr_bill_task.max_retries)

    assert last.get() == Billing.REVIEW
    cdr.refresh_from_db()
    assert cdr.billing_message.startswith("The capture kept failing")
    assert ChargingSession.objects.get(pk=session.pk).needs_attention.startswith("The capture")
    assert localstripe.writes("/capture") == []


def test_failed_excess_charge_is_stated_on_a_failed_payment_row_and_blocks_the_token(
    ocpi: Ocpi, cpo: Partner, localstripe: LocalStripe
) -> None:
    """A declined charge above the hold leaves a failed payment: the driver owes it, so their
    token is blocked at once (partners refuse it until the debt is settled)."""
    driver = driver_make(localstripe)
    session = session_make(user=driver, partner=cpo, hold=2000, state=SessionState.COMPLETED)
    # The driver's card now declines every charge (Stripe's test card 4000000000000341).
    card_add(localstripe, driver, DECLINES_ON_CHARGE)
    Payment.objects.filter(pk=session.payment_id).update(
        payment_method=driver.billing_account.default_payment_method
    )
    ocpi.post_cdr(cdr_payload(session, kwh="50"))

    excess = Payment.objects.get(kind=Payment.Kind.EXCESS)
    assert excess.status == Payment.Status.FAILED
    assert excess.failure_message  # (localstripe refuses it as a bad request, Stripe declines)
    flagged = ChargingSession.objects.get(pk=session.pk).needs_attention
    assert flagged.startswith(f"The charge of €{(excess.amount / 100):.2f} above the hold failed")
    token = DriverToken.objects.get(user=driver)
    assert not token.valid
    assert token.blocked_reason


def test_cdr_for_a_hold_already_released_is_held_and_the_payment_states_the_debt(
    ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe, settings: Settings
) -> None:
    """The driver owes the charge though the hold is gone: the payment row says so (the
    driver's token reads unpaid amounts from payments' rows), and an admin is asked."""
    settings.CHARGING_FEE = 35
    session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
    hold_release(payment=Payment.objects.get(pk=session.payment_id), reason="test: expired")

    ocpi.post_cdr(cdr_payload(session, kwh="10"))

    cdr = ChargeDetailRecord.objects.get()
    assert cdr.billing == Billing.REVIEW
    assert cdr.billing_message.startswith("The capture failed: There is no hold to capture")
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_to_capture) == (
        Payment.Status.CANCELED,
        minor("10") + 35,
    )
    assert payment.log.filter(action="capture_owed").exists()
    assert ChargingSession.objects.get(pk=session.pk).needs_attention.startswith("The capture")


def test_free_charge_is_settled_with_no_fee_the_hold_released_and_a_receipt_for_nothing(
    client: Client, ocpi: Ocpi, cpo: Partner, driver: Any, localstripe: LocalStripe
) -> None:
    """A CDR of €0.00 (here a car that took no energy): no capture and no fee, the whole hold
    released, and a €0.00 receipt that says so, like any other charge."""
    session = session_make(user=driver, partner=cpo, hold=2000, state=SessionState.COMPLETED)
    response = ocpi.post_cdr(cdr_payload(session, kwh="0"))

    assert response.status_code == 201, response.content
    cdr = ChargeDetailRecord.objects.get()
    assert (cdr.billing, cdr.total_cost, cdr.fee, cdr.amount) == (Billing.BILLED, 0, 0, 0)
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_captured) == (Payment.Status.CANCELED, 0)
    assert localstripe.payment_intent(payment.stripe_payment_intent_id or "")["status"] == (
        "canceled"
    )
    assert localstripe.writes("/capture") == []
    receipt = Receipt.objects.get(payment=payment)
    assert receipt.amount == 0
    said = "the hold on your card was released in full"
    [email] = mail.outbox
    assert receipt.number in email.subject
    assert "Charged to Visa •••• 4242: €0.00" in email.body
    assert said in email.body
    client.force_login(driver)
    page = client.get(f"/receipts/{session.public_id}/").content.decode()
    assert "€0.00" in page
    assert "Nothing was charged to your card" in page
    assert said in page
    timeline = [event.cause for event in session.events.all()]
    said = f"Nothing to charge (operator €0.00, no fee): hold released; receipt {receipt.number}"
    assert said in timeline
