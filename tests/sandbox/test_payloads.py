"""Every payload the sandbox sends validates against the OCPI 2.2.1 schemas (a large sample)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pydantic
import pytest
from pydantic import BaseModel

from roaming.ocpi.v221.schemas import (
    CDR,
    CDR_FORBIDDEN_DIMENSIONS,
    CommandResponse,
    CommandResult,
    Credentials,
    EvsePatch,
    Location,
    OcpiResponse,
    Session,
    SessionPatch,
    Tariff,
    VersionDetails,
    unknown_fields,
)
from tests.sandbox.fixtures import EmspReceiver, SandboxHandle, app_token, auth, register

BASE = "/ocpi/emsp/2.2.1"
TIME_KEYS = (
    "last_updated",
    "start_date_time",
    "end_date_time",
    "timestamp",
    "period_begin",
    "period_end",
)


def strictly_valid(model: type[BaseModel], payload: Any) -> BaseModel:
    """Valid for the spec, with no field the spec does not define and every time in `Z`."""
    parsed = model.model_validate(payload)
    assert unknown_fields(parsed) == [], payload
    for key, value in _walk(payload):
        if key in TIME_KEYS and isinstance(value, str) and "T" in value:
            assert value.endswith("Z"), (key, value)
    return parsed


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


@pytest.fixture
def registered(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> Iterator[tuple[httpx.Client, SandboxHandle]]:
    sandbox = sandbox_cpo_factory(
        stations=3000, page_limit=1000, status_churn=30, vehicle_kwh=0.003
    )
    token_c = register(sandbox, emsp_receiver)
    base = sandbox.versions_url.removesuffix("versions") + "2.2.1/"
    with httpx.Client(base_url=base, headers=auth(token_c)) as http:
        yield http, sandbox


def test_every_location_and_tariff_served_is_valid_ocpi(registered) -> None:
    http, _ = registered
    url: str | None = "locations"
    count = 0
    while url:
        reply = http.get(url)
        envelope = strictly_valid(OcpiResponse[list[dict[str, Any]]], reply.json())
        for location in envelope.data or []:
            strictly_valid(Location, location)
            count += 1
        url = reply.links.get("next", {}).get("url")
    assert count == 3000
    tariffs = http.get("tariffs").json()["data"]
    for tariff in tariffs:
        strictly_valid(Tariff, tariff)
    location = http.get("locations/LOC0000001").json()["data"]
    evse = http.get(f"locations/LOC0000001/{location['evses'][0]['uid']}").json()["data"]
    assert strictly_valid(Location, location).evses[0].uid == evse["uid"]


def test_handshake_objects_are_valid_ocpi(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    details = httpx.get(
        sandbox_cpo.versions_url.removesuffix("versions") + "2.2.1", headers=auth("sandbox-a")
    )
    strictly_valid(VersionDetails, details.json()["data"])
    token_c = register(sandbox_cpo, emsp_receiver)
    mine = httpx.get(
        sandbox_cpo.versions_url.removesuffix("versions") + "2.2.1/credentials",
        headers=auth(token_c),
    )
    strictly_valid(Credentials, mine.json()["data"])


def test_every_push_of_several_charges_is_valid_ocpi(
    registered, emsp_receiver: EmspReceiver
) -> None:
    http, sandbox = registered
    started = 0
    for location in sandbox.cpo.catalogue.locations.values():
        evse = location["evses"][0]
        if evse["status"] != "AVAILABLE" or started == 8:
            continue
        reply = http.post(
            "commands/START_SESSION",
            json={
                "response_url": f"{emsp_receiver.base_url}{BASE}/commands/START_SESSION/{started}",
                "token": app_token(uid=f"APP-{started}", contract_id=f"NL-TMS-C{started:08d}-X"),
                "location_id": location["id"],
                "evse_uid": evse["uid"],
            },
        )
        strictly_valid(CommandResponse, reply.json()["data"])
        started += 1
    results = [
        r
        for r in emsp_receiver.wait_for(
            lambda rs: sum(r.path.startswith(f"{BASE}/commands/") for r in rs) == started
        )
        if r.path.startswith(f"{BASE}/commands/")
    ]
    # Status churn may take an EVSE between the command and its result (EVSE_OCCUPIED).
    charged = sum(r.body["result"] == "ACCEPTED" for r in results)
    assert charged >= started - 2
    requests = emsp_receiver.wait_for(
        lambda rs: sum(r.path == f"{BASE}/cdrs" for r in rs) == charged, timeout=20
    )
    kinds = set()
    for request in requests:
        if request.method == "GET":
            continue
        if request.path.startswith(f"{BASE}/commands/"):
            strictly_valid(CommandResult, request.body)
            kinds.add("result")
        elif request.path.startswith(f"{BASE}/sessions/"):
            strictly_valid(Session if request.method == "PUT" else SessionPatch, request.body)
            kinds.add(f"session {request.method}")
        elif request.path.startswith(f"{BASE}/locations/"):
            strictly_valid(EvsePatch, request.body)
            kinds.add("evse")
        elif request.path == f"{BASE}/cdrs":
            cdr = strictly_valid(CDR, request.body)
            assert isinstance(cdr, CDR)
            assert (
                not {d.type for p in cdr.charging_periods for d in p.dimensions}
                & CDR_FORBIDDEN_DIMENSIONS
            )
            kinds.add("cdr")
    assert kinds == {"result", "session PUT", "session PATCH", "evse", "cdr"}
    sessions = http.get("sessions?date_from=2020-01-01T00:00:00Z").json()["data"]
    cdrs = http.get("cdrs").json()["data"]
    assert len(sessions) == len(cdrs) == charged
    for session in sessions:
        strictly_valid(Session, session)
    for cdr in cdrs:
        strictly_valid(CDR, cdr)


def test_schemas_reject_what_the_spec_forbids() -> None:
    good = {"latitude": "52.370000", "longitude": "4.900000"}
    location = {
        "country_code": "NL",
        "party_id": "SBX",
        "id": "L1",
        "publish": True,
        "address": "A 1",
        "city": "Amsterdam",
        "country": "NLD",
        "coordinates": good,
        "time_zone": "Europe/Amsterdam",
        "last_updated": "2026-01-01T00:00:00Z",
    }
    Location.model_validate(location)
    bad_cases = [
        {"coordinates": {"latitude": 52.37, "longitude": 4.9}},  # numbers, not strings
        {"coordinates": {"latitude": "52.37", "longitude": "4.9"}},  # too few decimals
        {"last_updated": "2026-01-01T00:00:00+01:00"},  # not UTC
        {"id": "X" * 37},  # CiString(36)
        {"country": "NL"},  # alpha-3
        {"parking_type": "ROOFTOP"},  # not in the enum
        {"directions": [{"language": "english", "text": "left"}]},  # DisplayText language
    ]
    for change in bad_cases:
        with pytest.raises(pydantic.ValidationError):
            Location.model_validate({**location, **change})
    without_city = {k: v for k, v in location.items() if k != "city"}
    with pytest.raises(pydantic.ValidationError):
        Location.model_validate(without_city)
    assert unknown_fields(Location.model_validate({**location, "x_vendor": 1})) == ["x_vendor"]
