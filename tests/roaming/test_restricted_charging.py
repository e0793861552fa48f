"""Charging at a station a CPO publishes only to certain drivers (`publish_allowed_to`), on
loopback with the sandbox CPO: the driver it names follows its live status and starts a charge
there; another driver and the public can do neither."""

import pytest
from django.test import Client

from locator.models import Evse, Location
from roaming.models import DriverToken
from roaming.services import partner_sync
from roaming.services.tokens import driver_token_for_start
from sandbox.charge import now_utc
from tests.roaming.charging import Net, session_in

pytestmark = pytest.mark.django_db(transaction=True)


def published_only_to(net: Net, evse: Evse, token: DriverToken) -> None:
    """The sandbox CPO publishes the EVSE's station to that token alone; a delta pull brings
    the change."""
    location, _ = net.sandbox.cpo.catalogue.evses[evse.uid]
    net.sandbox.cpo.catalogue.location_change(
        location["id"],
        now_utc(),
        publish=False,
        publish_allowed_to=[{"uid": token.uid, "type": "APP_USER"}],
    )
    partner_sync(partner=net.partner, full=False)
    ours = Location.objects.get(pk=evse.location_id)
    assert (ours.visible, ours.restricted) == (False, True)


def test_only_the_driver_a_station_is_published_to_follows_it_and_charges_there(
    charging_net: Net,
) -> None:
    net = charging_net
    member, stranger = net.driver("member"), net.driver("stranger")
    token = driver_token_for_start(user=member)
    driver_token_for_start(user=stranger)
    evse = net.evse()
    published_only_to(net, evse, token)
    status_url = f"/api/v1/stations/{evse.location_id}/status/"

    assert Client().get(status_url).status_code == 404
    assert net.client(stranger).get(status_url).status_code == 404
    live = net.client(member).get(status_url)
    assert live.status_code == 200
    assert evse.pk in [item["id"] for item in live.json()["items"]]

    assert net.start(Client(), evse) == (
        401,
        {"code": "not_authenticated", "detail": "Sign in to charge."},
    )
    status, body = net.start(net.client(stranger), evse)
    assert (status, body["code"]) == (404, "unknown_evse")
    status, body = net.start(net.client(member), evse)
    assert status == 201, body
    session_in(body["id"], "active")
