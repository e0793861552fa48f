"""The issue's acceptance test: a plain HTTP client registers, pulls everything, charges."""

from __future__ import annotations

import httpx

from tests.sandbox.fixtures import (
    EmspReceiver,
    Received,
    SandboxHandle,
    app_token,
    auth,
    register,
)

BASE = "/ocpi/emsp/2.2.1"


def _pull_all(url: str, token: str) -> tuple[list[dict], int]:
    items: list[dict] = []
    pages = 0
    next_url: str | None = url
    with httpx.Client(headers=auth(token)) as client:
        while next_url:
            reply = client.get(next_url)
            assert reply.status_code == 200, reply.text
            items.extend(reply.json()["data"])
            pages += 1
            next_url = reply.links.get("next", {}).get("url")
    return items, pages


def test_plain_client_registers_pulls_every_location_and_charges(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> None:
    sandbox: SandboxHandle = sandbox_cpo_factory(stations=450, page_limit=100)
    token_c = register(sandbox, emsp_receiver)
    base = sandbox.versions_url.removesuffix("/versions") + "/2.2.1"

    locations, pages = _pull_all(f"{base}/locations?limit=40", token_c)
    assert len(locations) == 450
    assert len({loc["id"] for loc in locations}) == 450
    assert pages == 12  # 450 / 40, following Link to the end

    location = next(
        loc
        for loc in locations
        if any(
            e["status"] == "AVAILABLE" and "REMOTE_START_STOP_CAPABLE" in e["capabilities"]
            for e in loc["evses"]
        )
    )
    evse = next(e for e in location["evses"] if e["status"] == "AVAILABLE")
    response_url = f"{emsp_receiver.base_url}{BASE}/commands/START_SESSION/cmd-1"
    reply = httpx.post(
        f"{base}/commands/START_SESSION",
        headers=auth(token_c),
        json={
            "response_url": response_url,
            "token": app_token(),
            "location_id": location["id"],
            "evse_uid": evse["uid"],
            "authorization_reference": "AUTH-1",
        },
    )
    assert reply.json()["data"]["result"] == "ACCEPTED"

    def sessions(requests: list[Received]) -> list[Received]:
        return [r for r in requests if r.path.startswith(f"{BASE}/sessions/")]

    requests = emsp_receiver.wait_for(
        lambda rs: len([r for r in sessions(rs) if r.method == "PATCH"]) >= 2
    )
    result = next(r for r in requests if r.path.endswith("/cmd-1"))
    assert result.method == "POST"
    assert result.body == {"result": "ACCEPTED"}
    put = next(r for r in sessions(requests) if r.method == "PUT")
    assert put.body["status"] == "ACTIVE"
    assert put.body["authorization_reference"] == "AUTH-1"
    assert put.path == f"{BASE}/sessions/NL/SBX/{put.body['id']}"
    assert requests.index(result) < requests.index(put)  # result first, then the session
    patch = next(r for r in sessions(requests) if r.method == "PATCH")
    assert patch.body["kwh"] > 0
    assert patch.body["charging_periods"]
    assert "last_updated" in patch.body
    assert "total_cost" in patch.body
    assert any(
        r.method == "PATCH" and r.body["status"] == "CHARGING"
        for r in requests
        if r.path == f"{BASE}/locations/NL/SBX/{location['id']}/{evse['uid']}"
    )
    assert put.headers["Authorization"] == auth(emsp_receiver.token_b)["Authorization"]

    stop = httpx.post(
        f"{base}/commands/STOP_SESSION",
        headers=auth(token_c),
        json={"response_url": f"{response_url}-stop", "session_id": put.body["id"]},
    )
    assert stop.json()["data"]["result"] == "ACCEPTED"
    requests = emsp_receiver.wait_for(lambda rs: any(r.path == f"{BASE}/cdrs" for r in rs))
    stop_result = next(r for r in requests if r.path.endswith("/cmd-1-stop"))
    assert stop_result.body == {"result": "ACCEPTED"}
    completed = [r for r in sessions(requests) if r.body and r.body.get("status") == "COMPLETED"]
    assert len(completed) == 1
    cdr = next(r for r in requests if r.path == f"{BASE}/cdrs").body
    assert cdr["session_id"] == put.body["id"]
    assert cdr["cdr_location"]["evse_uid"] == evse["uid"]
    assert cdr["total_energy"] > 0
    assert cdr["total_cost"]["excl_vat"] >= 0
    assert cdr["total_cost"] == completed[0].body["total_cost"]
    requests = emsp_receiver.wait_for(
        lambda rs: any(
            r.method == "PATCH" and r.body.get("status") == "AVAILABLE" and evse["uid"] in r.path
            for r in rs
        )
    )

    # The CPO's own lists agree with what it pushed.
    cdrs, _ = _pull_all(f"{base}/cdrs", token_c)
    assert [c["id"] for c in cdrs] == [cdr["id"]]
    listed, _ = _pull_all(f"{base}/sessions?date_from=2020-01-01T00:00:00Z", token_c)
    assert listed[0]["status"] == "COMPLETED"
