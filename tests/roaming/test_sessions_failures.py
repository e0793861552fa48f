"""Every way a start or a stop can fail ends cleanly: the hold released, a message a driver
understands. On loopback against the sandbox CPO and localstripe."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from payments.models import Payment
from roaming.models import ChargingSession, Command, CommandType, DriverToken
from roaming.services.sessions import commands_expire
from tests.payments.conftest import DECLINES_ON_CHARGE, NEEDS_AUTHENTICATION
from tests.roaming.charging import Net, hold_status, session_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("status", "result", "message"),
    [
        ("CHARGING", "EVSE_OCCUPIED", "This charger is in use by someone else."),
        ("OUTOFORDER", "EVSE_INOPERATIVE", "This charger is out of order."),
    ],
)
def test_evse_occupied_or_broken_at_the_charger_ends_failed_and_releases_the_hold(
    charging_net: Net, status: str, result: str, message: str
) -> None:
    net = charging_net
    client = net.client(net.driver())
    evse = net.evse()
    # It changed a moment ago: the charger knows, our catalogue not yet.
    net.sandbox.cpo.catalogue.evse_status_set(evse.uid, status, timezone.now())

    code, body = net.start(client, evse)
    assert code == 201, body
    session = session_in(body["id"], "failed")
    wait_for(lambda: hold_status(net.localstripe, session) == "canceled", what="the release")
    shown = net.show(client, body["id"])
    assert shown["message"] == f"{message} Nothing was charged. Pick another one."
    assert shown["live"] is False
    assert shown["hold"] is None
    assert Command.objects.get(session=session).result == result


def test_evse_we_know_is_busy_is_refused_before_any_hold(charging_net: Net) -> None:
    net = charging_net
    driver = net.driver()
    busy = net.evse(status="CHARGING")

    status, body = net.start(net.client(driver), busy)
    assert (status, body["code"]) == (409, "evse_unavailable")
    assert "in use or out of order" in body["detail"]
    assert not ChargingSession.objects.exists()
    assert not Payment.objects.exists()


def test_command_rejected_by_the_operator_releases_the_hold(charging_net: Net) -> None:
    net = charging_net
    driver = net.driver()
    client = net.client(driver)
    status, body = net.start(client, net.evse())
    assert status == 201
    session_in(body["id"], "active")  # the driver's token is issued and works
    net.stop(client, body["id"])
    session_in(body["id"], "completed")
    # The driver's token, as we pushed it to the operator, is blocked there.
    net.sandbox_token_put(DriverToken.objects.get(user=driver), valid=False)

    status, body = net.start(client, net.evse())
    assert status == 201, body
    assert body["state"] == "rejected"
    assert body["state_label"] == "Refused"
    operator = ChargingSession.objects.get(public_id=body["id"]).operator_name
    uid = DriverToken.objects.get(user=driver).uid
    assert body["message"] == (
        f"{operator} refused the start: Token {uid} is not valid. Nothing was charged."
    )
    assert body["hold"] is None
    session = ChargingSession.objects.get(public_id=body["id"])
    assert hold_status(net.localstripe, session) == "canceled"


def test_no_command_result_times_out_and_releases_the_hold(
    charging_net_factory, settings: Settings
) -> None:
    settings.CHARGING_COMMAND_GRACE = timedelta(seconds=1)
    net = charging_net_factory(command_delay=600, command_timeout=2)
    client = net.client(net.driver())

    status, body = net.start(client, net.evse())
    assert status == 201, body
    assert body["state"] == "accepted"
    assert commands_expire() == 0  # not due yet: the partner said 2 s, we allow 1 s more
    assert commands_expire(now=timezone.now() + timedelta(seconds=4)) == 1

    session = ChargingSession.objects.get(public_id=body["id"])
    assert session.state == "timed_out"
    shown = net.show(client, body["id"])
    assert shown["state_label"] == "No answer from the charger"
    assert shown["message"] == (
        "The charger did not answer. Nothing was charged. Try again, or pick another charger."
    )
    assert hold_status(net.localstripe, session) == "canceled"
    assert Command.objects.get(session=session).status == "timed_out"
    # Safe to run again: nothing more to end.
    assert commands_expire(now=timezone.now() + timedelta(seconds=4)) == 0


def test_session_arriving_after_the_timeout_is_stopped_told_and_billed_for_what_it_drew(
    charging_net_factory, settings: Settings
) -> None:
    """The driver was told nothing charged and may have left: a charge the charger begins
    after all is stopped at once, the driver told on the page and the timeline, and billed only
    for what it drew, on a new hold."""
    settings.CHARGING_COMMAND_GRACE = timedelta(seconds=0)
    net = charging_net_factory(command_delay=1.0, command_timeout=0, push_interval=0.2)
    client = net.client(net.driver())

    status, body = net.start(client, net.evse())
    assert status == 201, body
    assert commands_expire(now=timezone.now() + timedelta(seconds=1)) == 1
    session = ChargingSession.objects.get(public_id=body["id"])
    assert session.state == "timed_out"
    assert net.show(client, body["id"])["message"].startswith("The charger did not answer.")
    first_hold = Payment.objects.get(charging_session=session)
    assert hold_status(net.localstripe, session) == "canceled"

    # The charger starts after all, and the operator reports it with our reference: we stop it.
    session = session_in(body["id"], "active", "stopping", "completed", timeout=30)
    stop = wait_for(
        lambda: Command.objects.filter(session=session, type=CommandType.STOP_SESSION).first(),
        timeout=30,
        what="a STOP_SESSION sent by us",
    )
    assert stop.requested_by is None
    shown = net.show(client, body["id"])
    timeline = [e["text"] for e in shown["timeline"]]
    assert any(
        "The charger started after we had given up on the start (no answer from the charger): "
        "we are stopping it" in text
        for text in timeline
    ), timeline
    theirs = net.sandbox.cpo.simulator.sessions[session.ocpi_session_id]
    wait_for(lambda: not theirs.active, timeout=30, what="the sandbox's session to stop")

    session = session_in(body["id"], "completed", timeout=30)
    shown = net.show(client, body["id"])
    assert shown["message"] == (
        "The charger charged after all, after we had told you it did not start. You pay only "
        "for the energy it delivered: see the receipt."
    )
    # Billed on a new hold for what it drew in those seconds; the first hold stays released.
    shown = wait_for(
        lambda: (shown := net.show(client, body["id"]))["receipt_url"] and shown,
        timeout=30,
        what="the receipt",
    )
    late_hold = Payment.objects.filter(charging_session=session).exclude(pk=first_hold.pk).get()
    assert late_hold.status in ("captured", "canceled")  # canceled: it drew nothing to pay for
    first_hold.refresh_from_db()
    assert first_hold.status == "canceled"


def test_card_declined_at_the_hold_sends_no_command(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver(card=DECLINES_ON_CHARGE))

    status, body = net.start(client, net.evse())
    assert (status, body["code"]) == (402, "card_declined")
    assert body["detail"]
    session = ChargingSession.objects.get(public_id=body["session"])
    assert session.state == "failed"
    assert "Nothing was charged." in session.state_message
    assert not Command.objects.exists()
    assert not net.sandbox.cpo.simulator.sessions


def test_no_card_is_refused_with_a_clear_message(charging_net: Net) -> None:
    net = charging_net
    status, body = net.start(net.client(net.driver(card=None)), net.evse())
    assert (status, body["code"]) == (402, "no_card")
    assert body["detail"] == "Add a card in Payment methods before you start a charge."
    assert not ChargingSession.objects.exists()


def test_partner_down_at_start_fails_and_releases_the_hold(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver())
    net.partner_down()

    status, body = net.start(client, net.evse())
    assert (status, body["code"]) == (503, "partner_unavailable")
    assert body["detail"] == (
        f"{net.evse().location.operator_name} is not answering right now. "
        "Nothing was charged. Try again in a few minutes."
    )
    session = ChargingSession.objects.get()
    assert session.state == "failed"
    assert session.state_message == body["detail"]
    assert hold_status(net.localstripe, session) == "canceled"
    assert Command.objects.get().status == "failed"


def test_partner_down_at_stop_keeps_the_session_live_to_retry(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver())
    status, body = net.start(client, net.evse())
    public_id = body["id"]
    session_in(public_id, "active")

    net.partner_down()
    status, body = net.stop(client, public_id)
    assert (status, body["code"]) == (503, "partner_unavailable")
    assert "still charging" in body["detail"]
    shown = net.show(client, public_id)
    assert shown["state"] == "active"
    assert shown["can_stop"] is True
    assert shown["message"] == body["detail"]

    net.partner_up()
    status, body = net.stop(client, public_id)
    assert status == 202, body
    session_in(public_id, "completed")
    assert net.show(client, public_id)["message"] == ""


def test_one_live_session_per_driver(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver())
    first = net.evse()
    status, body = net.start(client, first)
    assert status == 201

    status, again = net.start(client, net.evse(exclude=(first.pk,)))
    assert (status, again["code"]) == (409, "already_charging")
    assert again["session"] == body["id"]
    assert ChargingSession.objects.count() == 1
    assert Command.objects.filter(type=CommandType.START_SESSION).count() == 1


def test_a_start_the_bank_must_confirm_resumes_once_confirmed(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver(card=NEEDS_AUTHENTICATION))
    evse = net.evse()

    status, body = net.start(client, evse)
    assert (status, body["code"]) == (402, "authentication_required")
    payment = Payment.objects.get()
    assert body["authenticate_url"] == f"/payments/{payment.pk}/authenticate/"
    assert ChargingSession.objects.get(public_id=body["session"]).state == "requested"
    assert not Command.objects.exists()

    # The driver confirms with the bank on the payments page, then presses Start again.
    secret = net.localstripe.payment_intent(payment.stripe_payment_intent_id)["client_secret"]
    net.localstripe.request(
        "POST",
        f"/v1/payment_intents/{payment.stripe_payment_intent_id}/_authenticate?success=true",
        {"key": "pk_test_localstripe", "client_secret": secret},
    )
    assert client.post(body["authenticate_url"]).status_code == 302
    status, resumed = net.start(client, evse)
    assert status == 201, resumed
    assert resumed["id"] == body["session"]
    session_in(resumed["id"], "active")
    assert Payment.objects.count() == 1


def test_a_double_tap_on_start_starts_one_charge(charging_net: Net) -> None:
    net = charging_net
    driver = net.driver()
    evse = net.evse()
    barrier = threading.Barrier(2)

    def tap(_: int) -> int:
        try:
            client = net.client(driver)
            barrier.wait()
            return net.start(client, evse)[0]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(tap, range(2)))

    assert statuses == [201, 409]
    assert ChargingSession.objects.count() == 1
    assert Payment.objects.count() == 1
    assert Command.objects.filter(type=CommandType.START_SESSION).count() == 1
