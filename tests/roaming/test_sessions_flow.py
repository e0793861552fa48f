"""A driver charges end to end on loopback: the API, the sandbox CPO, localstripe."""

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from roaming.models import ChargingSession, Command, CommandType
from roaming.services.sessions import connector_unlock
from roaming.services.tokens import driver_token_for_start
from tests.roaming.charging import Net, hold_status, session_in, session_pushed, wait_for
from tests.sandbox.fixtures import OCPI_VERSIONS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_driver_starts_sees_it_charge_and_stops_it(charging_net: Net) -> None:
    net = charging_net
    driver = net.driver()
    client = net.client(driver)
    evse = net.evse()

    status, body = net.start(client, evse)
    assert status == 201, body
    public_id = body["id"]
    assert body["live"] is True
    assert body["evse"] == {"id": evse.pk, "label": evse.evse_id or evse.uid}
    assert body["station"]["id"] == evse.location_id
    assert settings.CHARGING_HOLD_FLOOR <= body["hold"]["amount"] <= settings.CHARGING_HOLD_CAP
    start = Command.objects.get(session__public_id=public_id, type=CommandType.START_SESSION)
    assert start.response == "ACCEPTED"

    session = session_in(public_id, "active")
    assert hold_status(net.localstripe, session) == "requires_capture"

    def charged(more_than: float) -> dict[str, Any] | None:
        shown = net.show(client, public_id)
        return shown if shown["kwh"] > more_than else None

    first = wait_for(lambda: charged(0), what="kWh above 0")
    later = wait_for(lambda: charged(first["kwh"]), what="kWh rising")
    # Partners stamp pushes to the second: two chart points take a little over a second.
    # OCPI 2.1.1 reports no power: it is derived from the kWh between two points, so a push
    # that brings no new energy reads 0 kW for a moment; the driver sees the power once it does.
    later = wait_for(
        lambda: (
            (shown := charged(later["kwh"]))
            and len(shown["samples"]) >= 2
            and shown["power_kw"] > 0
            and shown
        ),
        what="a second chart point, with the power",
    )
    assert later["state"] == "active"
    assert later["state_label"] == "Charging"
    assert later["can_stop"] is True
    assert later["power_kw"] > 0, later
    assert later["duration_seconds"] is not None
    assert later["samples"][-1]["kwh"] >= later["samples"][0]["kwh"]
    assert later["cost"]["display"].startswith("€")

    status, body = net.stop(client, public_id)
    assert status == 202, body
    assert body["state"] in ("stopping", "completed")
    assert body["can_stop"] is False

    session_in(public_id, "completed")
    done = net.show(client, public_id)
    assert done["live"] is False
    assert done["ended_at"] is not None
    assert done["power_kw"] == 0
    assert done["kwh"] >= later["kwh"]
    texts = [event["text"] for event in done["timeline"]]
    assert "Stop requested by the driver" in texts
    assert "The charger ended the session" in texts
    # The timeline speaks the driver's words, not OCPI's.
    operator = ChargingSession.objects.get(public_id=public_id).operator_name
    assert f"{operator} accepted the start" in texts
    assert f"{operator} accepted the stop" in texts
    # The CommandResult may come before or after the charger reports the session charging.
    said = {"The charger accepted the start", "The charger confirmed the start"} & set(texts)
    assert said, texts
    page = client.get(f"/sessions/{public_id}/").content.decode()
    assert f"{operator} accepted the start" in page
    for ocpi_word in ("ACCEPTED", "START_SESSION", "STOP_SESSION", "answered", " result "):
        assert not [text for text in texts if ocpi_word in text], (ocpi_word, texts)
        assert ocpi_word not in page, ocpi_word
    # The hold waits for the CDR (billing's part): nothing released, nothing captured yet.
    session.refresh_from_db()
    assert hold_status(net.localstripe, session) == "requires_capture"


def test_session_started_at_the_charger_with_our_token_is_followed_and_held(
    charging_net: Net,
) -> None:
    net = charging_net
    driver = net.driver()
    token = driver_token_for_start(user=driver)
    evse = net.evse()
    sandbox_location, _ = net.sandbox.cpo.catalogue.evses[evse.uid]
    session = session_pushed(
        token,
        country_code="NL",
        party_id="SBX",
        session_id="AT-THE-CHARGER-1",
        location_id=sandbox_location["id"],
        evse_uid=evse.uid,
        auth_method="AUTH_REQUEST",
    )
    reply = net.push_to_us("PUT", f"/NL/SBX/{session['id']}", session)
    assert reply.status_code == 200, reply.text

    ours = ChargingSession.objects.get(ocpi_session_id="AT-THE-CHARGER-1")
    assert (ours.user, ours.state, ours.evse_id) == (driver, "active", evse.pk)
    assert not ours.commands.exists()
    assert hold_status(net.localstripe, ours) == "requires_capture"
    client = net.client(driver)
    assert net.show(client, str(ours.public_id))["can_stop"] is True

    reply = net.push_to_us(
        "PATCH",
        f"/NL/SBX/{session['id']}",
        {"kwh": 4.2, "status": "COMPLETED", "last_updated": "2026-12-07T10:30:00Z"},
    )
    assert reply.status_code == 200, reply.text
    shown = net.show(client, str(ours.public_id))
    assert (shown["state"], shown["kwh"]) == ("completed", 4.2)


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_helpdesk_unlocks_the_connector_of_a_drivers_session(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver())
    status, body = net.start(client, net.evse(also="UNLOCK_CAPABLE"))
    assert status == 201, body
    session = session_in(body["id"], "active")
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-long-1")

    command = connector_unlock(admin=admin, session=session)
    assert command.status == "waiting"
    assert command.requested_by == admin
    wait_for(
        lambda: Command.objects.get(pk=command.pk).status == "succeeded", what="the unlock result"
    )
