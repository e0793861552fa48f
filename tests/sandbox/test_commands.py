"""Commands, sessions and the tokens receiver: what a real CPO accepts, rejects and pushes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.sandbox.fixtures import EmspReceiver, Received, SandboxHandle, auth, register
from tests.sandbox.fixtures import app_token as token

BASE = "/ocpi/emsp/2.2.1"


@dataclass
class Cpo:
    http: httpx.Client
    sandbox: SandboxHandle
    receiver: EmspReceiver

    def evse(
        self, *, status: str = "AVAILABLE", capability: str = "REMOTE_START_STOP_CAPABLE"
    ) -> tuple[dict, dict]:
        for location in self.sandbox.cpo.catalogue.locations.values():
            for evse in location["evses"]:
                if evse["status"] == status and capability in evse["capabilities"]:
                    return location, evse
        raise AssertionError(f"no {status} EVSE with {capability} in the sandbox")

    def command(self, name: str, **body: Any) -> dict[str, Any]:
        body.setdefault("response_url", f"{self.receiver.base_url}{BASE}/commands/{name}/r1")
        reply = self.http.post(f"commands/{name}", json=body)
        return reply.json()

    def result(self, name: str) -> Received:
        path = f"{BASE}/commands/{name}/r1"
        requests = self.receiver.wait_for(lambda rs: any(r.path == path for r in rs))
        return next(r for r in requests if r.path == path)


@pytest.fixture
def cpo(sandbox_cpo_factory, emsp_receiver: EmspReceiver) -> Iterator[Cpo]:
    sandbox = sandbox_cpo_factory(stations=120)
    token_c = register(sandbox, emsp_receiver)
    base = sandbox.versions_url.removesuffix("versions") + "2.2.1/"
    with httpx.Client(base_url=base, headers=auth(token_c)) as http:
        yield Cpo(http, sandbox, emsp_receiver)


def test_unknown_location_is_rejected_with_2003(cpo: Cpo) -> None:
    reply = cpo.command("START_SESSION", token=token(), location_id="NOWHERE")
    assert reply["status_code"] == 2003
    assert reply["data"]["result"] == "REJECTED"


def test_unknown_evse_is_rejected(cpo: Cpo) -> None:
    location, _ = cpo.evse()
    reply = cpo.command("START_SESSION", token=token(), location_id=location["id"], evse_uid="X")
    assert reply["data"]["result"] == "REJECTED"
    assert "Unknown EVSE" in reply["data"]["message"][0]["text"]


def test_invalid_token_is_rejected(cpo: Cpo) -> None:
    location, evse = cpo.evse()
    reply = cpo.command(
        "START_SESSION", token=token(valid=False), location_id=location["id"], evse_uid=evse["uid"]
    )
    assert reply["data"]["result"] == "REJECTED"


def test_token_pushed_invalid_by_the_emsp_is_rejected(cpo: Cpo) -> None:
    url = "tokens/NL/TMS/APP-0001?type=APP_USER"
    assert cpo.http.put(url, json=token()).status_code == 201
    assert cpo.http.get(url).json()["data"]["valid"] is True
    patch = cpo.http.patch(url, json={"valid": False, "last_updated": "2026-01-02T00:00:00Z"})
    assert patch.json()["status_code"] == 1000
    location, evse = cpo.evse()
    reply = cpo.command(
        "START_SESSION", token=token(), location_id=location["id"], evse_uid=evse["uid"]
    )
    assert reply["data"]["result"] == "REJECTED"


def test_tokens_receiver_checks_url_against_body_and_patch_needs_last_updated(cpo: Cpo) -> None:
    assert (
        cpo.http.put("tokens/NL/TMS/OTHER?type=APP_USER", json=token()).json()["status_code"]
        == 2001
    )
    assert cpo.http.get("tokens/NL/TMS/NOPE").status_code == 404
    cpo.http.put("tokens/NL/TMS/APP-0001?type=APP_USER", json=token())
    reply = cpo.http.patch("tokens/NL/TMS/APP-0001?type=APP_USER", json={"valid": False})
    assert reply.json()["status_code"] == 2001
    assert "last_updated" in reply.json()["status_message"]


def test_occupied_evse_gives_evse_occupied_result(cpo: Cpo) -> None:
    location, evse = cpo.evse(status="CHARGING")
    reply = cpo.command(
        "START_SESSION", token=token(), location_id=location["id"], evse_uid=evse["uid"]
    )
    assert reply["data"] == {"result": "ACCEPTED", "timeout": 30}
    assert cpo.result("START_SESSION").body["result"] == "EVSE_OCCUPIED"
    assert not cpo.receiver.pushes(f"{BASE}/sessions")


def test_out_of_order_evse_gives_evse_inoperative_result(cpo: Cpo) -> None:
    location, evse = cpo.evse()
    cpo.sandbox.cpo.catalogue.evse_status_set(evse["uid"], "OUTOFORDER", evse["last_updated"])
    cpo.command("START_SESSION", token=token(), location_id=location["id"], evse_uid=evse["uid"])
    assert cpo.result("START_SESSION").body["result"] == "EVSE_INOPERATIVE"


def test_stop_of_unknown_session_is_unknown_session(cpo: Cpo) -> None:
    assert cpo.command("STOP_SESSION", session_id="NOPE")["data"]["result"] == "UNKNOWN_SESSION"


def test_unknown_command_is_not_supported(cpo: Cpo) -> None:
    assert cpo.command("SELF_DESTRUCT")["data"]["result"] == "NOT_SUPPORTED"


def test_malformed_command_body_is_a_clear_2001(cpo: Cpo) -> None:
    reply = cpo.http.post("commands/START_SESSION", json={"location_id": "X"})
    assert reply.status_code == 400
    assert reply.json()["status_code"] == 2001
    assert "response_url" in reply.json()["status_message"]


def test_full_battery_ends_the_session_with_a_cdr(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> None:
    sandbox = sandbox_cpo_factory(stations=120, vehicle_kwh=0.002, push_interval=5)
    token_c = register(sandbox, emsp_receiver)
    base = sandbox.versions_url.removesuffix("versions") + "2.2.1/"
    with httpx.Client(base_url=base, headers=auth(token_c)) as http:
        cpo = Cpo(http, sandbox, emsp_receiver)
        location, evse = cpo.evse()
        cpo.command(
            "START_SESSION", token=token(), location_id=location["id"], evse_uid=evse["uid"]
        )
        requests = emsp_receiver.wait_for(lambda rs: any(r.path == f"{BASE}/cdrs" for r in rs))
    cdr = next(r for r in requests if r.path == f"{BASE}/cdrs").body
    assert cdr["total_energy"] == pytest.approx(0.002, abs=1e-4)
    completed = [r for r in requests if r.method == "PATCH" and r.body.get("status") == "COMPLETED"]
    assert completed[0].body["kwh"] == pytest.approx(0.002, abs=1e-4)


def test_emsp_down_never_stops_the_cpo(sandbox_cpo_factory, emsp_receiver: EmspReceiver) -> None:
    sandbox = sandbox_cpo_factory(stations=120, push_timeout=0.3)
    token_c = register(sandbox, emsp_receiver)
    registration = sandbox.cpo.desk.registration
    assert registration is not None
    registration.endpoints = dict.fromkeys(registration.endpoints, "http://127.0.0.1:9/gone")
    base = sandbox.versions_url.removesuffix("versions") + "2.2.1/"
    with httpx.Client(base_url=base, headers=auth(token_c)) as http:
        cpo = Cpo(http, sandbox, emsp_receiver)
        location, evse = cpo.evse()
        body = {
            "token": token(),
            "location_id": location["id"],
            "evse_uid": evse["uid"],
            "response_url": "http://127.0.0.1:9/gone/result",
        }
        assert http.post("commands/START_SESSION", json=body).json()["data"]["result"] == "ACCEPTED"
        deadline = time.monotonic() + 10
        while len(sandbox.cpo.pusher.history) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(p.status is None and p.error for p in sandbox.cpo.pusher.history)
        assert http.get("locations?limit=1").status_code == 200


def test_reservation_holds_the_evse_and_cancel_frees_it(cpo: Cpo) -> None:
    location, evse = cpo.evse(capability="RESERVABLE")
    reply = cpo.command(
        "RESERVE_NOW",
        token=token(),
        expiry_date="2099-01-01T00:00:00Z",
        reservation_id="R1",
        location_id=location["id"],
        evse_uid=evse["uid"],
    )
    assert reply["data"]["result"] == "ACCEPTED"
    assert cpo.result("RESERVE_NOW").body["result"] == "ACCEPTED"
    evse_path = f"{BASE}/locations/NL/SBX/{location['id']}/{evse['uid']}"
    cpo.receiver.wait_for(
        lambda rs: any(r.path == evse_path and r.body["status"] == "RESERVED" for r in rs)
    )
    cpo.command("CANCEL_RESERVATION", reservation_id="R1")
    assert cpo.result("CANCEL_RESERVATION").body["result"] == "ACCEPTED"
    cpo.receiver.wait_for(
        lambda rs: any(r.path == evse_path and r.body["status"] == "AVAILABLE" for r in rs)
    )


def test_cancel_of_unknown_reservation_is_unknown_reservation(cpo: Cpo) -> None:
    cpo.command("CANCEL_RESERVATION", reservation_id="NOPE")
    assert cpo.result("CANCEL_RESERVATION").body["result"] == "UNKNOWN_RESERVATION"


def test_unlock_connector_is_accepted_where_the_evse_can_unlock(cpo: Cpo) -> None:
    location, evse = cpo.evse(capability="UNLOCK_CAPABLE")
    reply = cpo.command(
        "UNLOCK_CONNECTOR",
        location_id=location["id"],
        evse_uid=evse["uid"],
        connector_id=evse["connectors"][0]["id"],
    )
    assert reply["data"]["result"] == "ACCEPTED"
    assert cpo.result("UNLOCK_CONNECTOR").body["result"] == "ACCEPTED"


def test_charging_preferences_are_answered_not_possible(cpo: Cpo) -> None:
    location, evse = cpo.evse()
    cpo.command("START_SESSION", token=token(), location_id=location["id"], evse_uid=evse["uid"])
    requests = cpo.receiver.wait_for(
        lambda rs: any(r.method == "PUT" and "/sessions/" in r.path for r in rs)
    )
    session_id = next(r for r in requests if r.method == "PUT").body["id"]
    url = f"sessions/{session_id}/charging_preferences"
    reply = cpo.http.put(url, json={"profile_type": "FAST"})
    assert reply.json()["data"] == "NOT_POSSIBLE"
    assert cpo.http.put(url, json={"profile_type": "TURBO"}).json()["status_code"] == 2001
    unknown = cpo.http.put("sessions/NOPE/charging_preferences", json={"profile_type": "FAST"})
    assert unknown.status_code == 404
