"""Fault injection and status churn: the unreliable partner a roaming adapter must survive."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pydantic
import pytest

from roaming.ocpi.v221.schemas import Location
from tests.sandbox.fixtures import EmspReceiver, SandboxHandle, auth, register


def _modules(sandbox: SandboxHandle) -> str:
    return sandbox.versions_url.removesuffix("versions") + "2.2.1/"


def test_fail_rate_answers_500_malformed_json_or_nothing(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> None:
    sandbox = sandbox_cpo_factory(fail_rate=1.0, fault_delay=0.3)
    token_c = register(sandbox, emsp_receiver)  # versions and credentials are never faulted
    outcomes: Counter[str] = Counter()
    with httpx.Client(base_url=_modules(sandbox), headers=auth(token_c), timeout=0.15) as http:
        for _ in range(24):
            try:
                reply = http.get("locations?limit=5")
            except httpx.ReadTimeout:
                outcomes["timeout"] += 1
                continue
            if reply.status_code == 500:
                assert reply.json()["status_code"] == 3000
                outcomes["error"] += 1
            else:
                with pytest.raises(json.JSONDecodeError):
                    reply.json()
                outcomes["malformed"] += 1
    assert set(outcomes) == {"timeout", "error", "malformed"}


def test_added_latency_delays_every_answer(sandbox_cpo_factory) -> None:
    sandbox = sandbox_cpo_factory(latency_ms=400)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sandbox.versions_url, headers=auth("sandbox-a"), timeout=0.1)
    assert httpx.get(sandbox.versions_url, headers=auth("sandbox-a"), timeout=5).status_code == 200


def test_invalid_location_is_served_in_its_page_only(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> None:
    sandbox = sandbox_cpo_factory(stations=50, invalid_locations=1)
    token_c = register(sandbox, emsp_receiver)
    with httpx.Client(base_url=_modules(sandbox), headers=auth(token_c)) as http:
        served = http.get("locations?limit=50").json()["data"]
        broken = []
        for location in served:
            try:
                Location.model_validate(location)
            except pydantic.ValidationError:
                broken.append(location["id"])
        assert len(broken) == 1
        single = http.get(f"locations/{broken[0]}").json()["data"]
    Location.model_validate(single)


def test_status_churn_patches_evse_statuses_to_the_emsp(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> None:
    sandbox = sandbox_cpo_factory(stations=40, status_churn=40)
    register(sandbox, emsp_receiver)
    requests = emsp_receiver.wait_for(
        lambda rs: sum(r.method == "PATCH" and "/locations/" in r.path for r in rs) >= 5
    )
    patches = [r for r in requests if r.method == "PATCH" and "/locations/NL/SBX/" in r.path]
    catalogue = sandbox.cpo.catalogue
    for patch in patches:
        evse_uid = patch.path.rsplit("/", 1)[1]
        assert evse_uid in catalogue.evses
        assert patch.body["status"] in {"AVAILABLE", "CHARGING", "OUTOFORDER", "INOPERATIVE"}
        assert patch.body["last_updated"].endswith("Z")
