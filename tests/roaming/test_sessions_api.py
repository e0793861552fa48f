"""The session API's guards: signed-in drivers only, each sees and stops only their own
sessions (another's is a 404), bad input is a 4xx with a message; and the station API tells
which EVSEs can be started."""

import base64
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from locator.models import Evse, Location
from locator.services import catalogue_locations_upsert
from roaming.adapters import adapter_for
from roaming.crypto import token_hash
from roaming.models import ChargingSession, Command, Partner, PartnerState
from roaming.services.sync import catalogue_source
from tests.roaming.charging import session_row
from tests.roaming.test_receivers import example

pytestmark = pytest.mark.django_db


def example_location_stored(partner: Partner) -> Location:
    """The spec's example location (EVSE 3256 AVAILABLE, 3257 RESERVED), remotely startable."""
    payload = example("location_example.json")
    for evse in payload["evses"]:
        evse["capabilities"].append("REMOTE_START_STOP_CAPABLE")
    record = adapter_for(partner).location_parse(payload)
    catalogue_locations_upsert(source=catalogue_source(partner), records=[record])
    return Location.objects.get()


def user(name: str) -> User:
    return get_user_model().objects.create_user(username=name, password="a-long-password-1")


@pytest.fixture
def partner() -> Partner:
    return Partner.objects.create(
        name="Sandbox",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        endpoints={"commands": {"RECEIVER": "http://127.0.0.1:9/ocpi/2.2.1/commands"}},
    )


@pytest.fixture
def alice_session(partner: Partner) -> ChargingSession:
    return session_row(
        user("alice"),
        partner,
        state="active",
        ocpi_session_id="S-1",
        started_at=timezone.now(),
        kwh=3,
        running_cost=123,
    )


def signed_in(who: User) -> Client:
    client = Client()
    client.force_login(who)
    return client


def test_the_owner_sees_the_session_as_the_contract_says(alice_session: ChargingSession) -> None:
    reply = signed_in(alice_session.user).get(f"/api/v1/sessions/{alice_session.public_id}/")
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {
        "id", "state", "state_label", "message", "live", "can_stop", "station", "evse",
        "operator", "started_at", "ended_at", "duration_seconds", "kwh", "power_kw",
        "currency", "cost", "hold", "samples", "receipt_url", "timeline",
    }  # fmt: skip
    assert body["id"] == str(alice_session.public_id)
    assert (body["state"], body["state_label"], body["live"], body["can_stop"]) == (
        "active",
        "Charging",
        True,
        True,
    )
    assert body["cost"] == {"amount": 123, "display": "€1.23"}
    assert body["evse"] == {"id": None, "label": "NL*SBX*E1"}
    assert body["operator"] == "Sandbox Energy"
    assert body["hold"] is None
    assert body["receipt_url"] is None


def test_another_driver_cannot_see_a_session(alice_session: ChargingSession) -> None:
    reply = signed_in(user("mallory")).get(f"/api/v1/sessions/{alice_session.public_id}/")
    assert reply.status_code == 404
    assert reply.json() == {"code": "not_found", "detail": "No such charging session."}


def test_another_driver_cannot_stop_a_session(alice_session: ChargingSession) -> None:
    reply = signed_in(user("mallory")).post(f"/api/v1/sessions/{alice_session.public_id}/stop/")
    assert reply.status_code == 404
    assert reply.json()["code"] == "not_found"
    alice_session.refresh_from_db()
    assert alice_session.state == "active"
    assert not Command.objects.exists()


def test_another_drivers_live_session_does_not_block_or_leak_on_start(
    alice_session: ChargingSession,
) -> None:
    reply = signed_in(user("mallory")).post(
        "/api/v1/sessions/", {"evse": 999999}, content_type="application/json"
    )
    assert (reply.status_code, reply.json()["code"]) == (404, "unknown_evse")
    assert str(alice_session.public_id) not in reply.content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/sessions/"),
        ("get", "/api/v1/sessions/{id}/"),
        ("post", "/api/v1/sessions/{id}/stop/"),
    ],
)
def test_visitors_get_401_on_every_route(
    client: Client, alice_session: ChargingSession, method: str, path: str
) -> None:
    reply = getattr(client, method)(path.format(id=alice_session.public_id))
    assert reply.status_code == 401
    assert reply.json() == {"code": "not_authenticated", "detail": "Sign in to charge."}


def test_unknown_ids_are_404_and_bad_input_400(alice_session: ChargingSession) -> None:
    client = signed_in(alice_session.user)
    assert client.get(f"/api/v1/sessions/{uuid.uuid4()}/").status_code == 404
    assert client.get("/api/v1/sessions/not-a-uuid/").status_code == 404
    for bad in ({}, {"evse": "x"}, {"evse": -1}, {"evse": 10**30}):
        reply = client.post("/api/v1/sessions/", bad, content_type="application/json")
        assert (reply.status_code, reply.json()["code"]) == (400, "invalid")


def test_stop_of_a_session_that_is_not_charging_is_409(partner: Partner) -> None:
    done = session_row(user("bob"), partner, state="completed", ocpi_session_id="S-9")
    reply = signed_in(done.user).post(f"/api/v1/sessions/{done.public_id}/stop/")
    assert reply.status_code == 409
    assert reply.json() == {
        "code": "not_stoppable",
        "detail": "This session is not charging, so there is nothing to stop.",
    }


def test_a_second_start_while_charging_is_409_with_the_session(
    alice_session: ChargingSession, partner: Partner
) -> None:
    example_location_stored(partner)
    evse = Evse.objects.get(uid="3256")
    reply = signed_in(alice_session.user).post(
        "/api/v1/sessions/", {"evse": evse.pk}, content_type="application/json"
    )
    assert reply.status_code == 409
    assert reply.json()["code"] == "already_charging"
    assert reply.json()["session"] == str(alice_session.public_id)


def station_evses(client: Client, location: Location) -> dict[str, dict[str, Any]]:
    reply = client.get(f"/api/v1/stations/{location.pk}/")
    assert reply.status_code == 200
    return {evse["uid"]: evse for evse in reply.json()["evses"]}


def test_station_detail_gives_each_evse_its_id_and_whether_it_can_start(
    client: Client, partner: Partner
) -> None:
    location = example_location_stored(partner)
    evses = station_evses(client, location)
    # The spec's example: EVSE 3256 AVAILABLE and remote-startable, 3257 RESERVED.
    assert evses["3256"]["id"] == Evse.objects.get(uid="3256").pk
    assert evses["3256"]["can_start"] is True
    assert evses["3257"]["can_start"] is False

    Evse.objects.filter(uid="3256").update(status="OUTOFORDER")
    assert station_evses(client, location)["3256"]["can_start"] is False
    # A network that takes no commands: nothing starts from the app.
    Evse.objects.filter(uid="3256").update(status="AVAILABLE")
    Location.objects.update(remote_start=False)
    assert station_evses(client, location)["3256"]["can_start"] is False


def test_our_version_details_offer_the_sessions_receiver_and_commands_sender(
    client: Client,
) -> None:
    partner = Partner.objects.create(
        name="Caller", state=PartnerState.ACTIVE, inbound_token_hash=token_hash("caller")
    )
    reply = client.get(
        "/ocpi/2.2.1/", HTTP_AUTHORIZATION="Token " + base64.b64encode(b"caller").decode()
    )
    assert reply.status_code == 200, partner
    offered = {(e["identifier"], e["role"]): e["url"] for e in reply.json()["data"]["endpoints"]}
    assert offered[("sessions", "RECEIVER")].endswith("/ocpi/2.2.1/sessions")
    assert offered[("commands", "SENDER")].endswith("/ocpi/2.2.1/commands")
