"""A driver charges end to end on loopback: the API, the sandbox CPO, localstripe."""

from typing import Any

import pytest
from django.conf import settings

from roaming.models import Command, CommandType
from tests.roaming.charging import Net, hold_status, session_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


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
    later = wait_for(
        lambda: (shown := charged(later["kwh"])) and len(shown["samples"]) >= 2 and shown,
        what="a second chart point",
    )
    assert later["state"] == "active"
    assert later["state_label"] == "Charging"
    assert later["can_stop"] is True
    assert later["power_kw"] > 0
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
    # The hold waits for the CDR (billing's part): nothing released, nothing captured yet.
    session.refresh_from_db()
    assert hold_status(net.localstripe, session) == "requires_capture"
