"""The sandbox CPO's own requests carry OCPI 2.2's request and correlation ids: not only the
credentials call-back, every push of a charge (command result, Session, EVSE status, CDR)."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.fixtures import EmspReceiver, app_token, auth, register


@pytest.mark.parametrize("sandbox_ocpi_version", ["2.2.1", "2.3.0"])
def test_every_push_of_a_charge_carries_its_own_request_id_and_a_correlation_id(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver, sandbox_ocpi_version: str
) -> None:
    emsp_receiver.version = sandbox_ocpi_version
    sandbox = sandbox_cpo_factory(stations=20, vehicle_kwh=0.003)
    token_c = register(sandbox, emsp_receiver)
    base = f"/ocpi/emsp/{sandbox_ocpi_version}"
    location = next(
        location
        for location in sandbox.cpo.catalogue.locations.values()
        if location["evses"][0]["status"] == "AVAILABLE"
        and "REMOTE_START_STOP_CAPABLE" in location["evses"][0]["capabilities"]
    )
    reply = httpx.post(
        sandbox.versions_url.removesuffix("versions")
        + f"{sandbox_ocpi_version}/commands/START_SESSION",
        headers=auth(token_c),
        json={
            "response_url": f"{emsp_receiver.base_url}{base}/commands/START_SESSION/1",
            "token": app_token(),
            "location_id": location["id"],
            "evse_uid": location["evses"][0]["uid"],
        },
    )
    assert reply.json()["data"]["result"] == "ACCEPTED", reply.text

    # The car is full after a few Wh: the charge ends by itself and its CDR follows.
    emsp_receiver.wait_for(lambda rs: any(r.path == f"{base}/cdrs" for r in rs))

    pushes = emsp_receiver.pushes(base)
    kinds = {push.path.removeprefix(base).split("/")[1] for push in pushes}
    assert kinds == {"commands", "sessions", "locations", "cdrs"}
    request_ids = [push.headers.get("X-Request-ID") for push in pushes]
    assert all(request_ids), [(p.method, p.path) for p in pushes]
    assert len(set(request_ids)) == len(pushes)
    assert all(push.headers.get("X-Correlation-ID") for push in pushes)
