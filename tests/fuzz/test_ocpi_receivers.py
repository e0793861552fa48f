"""Hypothesis against our OCPI receivers, through the Django test client with a valid partner
token: whatever the body, the headers or the query, the answer is never a 5xx and always an OCPI
envelope, a refusal carrying a 2xxx status and a message; and a valid Location we are sent (its
text, place, EVSE statuses and connectors generated) reads back the same from our GET.

The examples of one test share its database transaction, so pushes meet what earlier examples
stored (an update, an older `last_updated`, an EVSE now missing), as a partner's would."""

import base64
import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from roaming.crypto import token_hash
from roaming.models import Partner, PartnerRole, PartnerState
from tests.fuzz.strategies import JSON, TEXT, locations, mutated

pytestmark = pytest.mark.django_db

TOKEN = "fuzz-partner-token"
AUTH = "Token " + base64.b64encode(TOKEN.encode()).decode()

# Where a partner pushes, and a spec example of what it pushes there.
PUSHES: dict[str, tuple[str, str, str]] = {
    "location put": ("put", "locations/BE/BEC/LOC1", "location_example.json"),
    "location patch": ("patch", "locations/BE/BEC/LOC1", "location_patch_example_location.json"),
    "evse put": ("put", "locations/BE/BEC/LOC1/3256", "location_put_example_add_evse.json"),
    "evse patch": ("patch", "locations/BE/BEC/LOC1/3256", "location_patch_example_status.json"),
    "connector patch": (
        "patch",
        "locations/BE/BEC/LOC1/3256/1",
        "location_patch_example_tariff.json",
    ),
    "tariff put": ("put", "tariffs/BE/BEC/12", "tariff_4_complex.json"),
    "session put": ("put", "sessions/BE/BEC/101", "session_example_2_short_finished.json"),
    "session patch": ("patch", "sessions/BE/BEC/101", "session_patch_example_charging_period.json"),
    "cdr post": ("post", "cdrs", "cdr_example.json"),
}


@pytest.fixture
def partner() -> Partner:
    """A CPO that owns BE/BEC, the party of the spec's examples, and pushes with its token."""
    hub = Partner.objects.create(
        name="Fuzz CPO",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash(TOKEN),
    )
    PartnerRole.objects.create(partner=hub, role="CPO", country_code="BE", party_id="BEC")
    return hub


def ocpi_call(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, Any]:
    response = getattr(Client(), method)(
        f"/ocpi/2.2.1/{path}",
        data=body,
        content_type="application/json",
        **{"HTTP_AUTHORIZATION": AUTH, **headers},
    )
    return response.status_code, json.loads(response.content)


def assert_ocpi_answer(status: int, body: Any) -> None:
    """Never a 5xx; always an envelope; a refusal is a 2xxx with a message saying why."""
    assert status < 500, body
    assert isinstance(body, dict)
    assert isinstance(body.get("status_code"), int)
    assert "timestamp" in body
    if status >= 400:
        assert 2000 <= body["status_code"] < 3000, body
        assert body.get("status_message")


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


BODIES = {
    name: st.one_of(
        JSON.map(as_json),
        mutated(example_name).map(as_json),
        st.binary(max_size=64),  # not JSON at all
    )
    for name, (_, _, example_name) in PUSHES.items()
}


@pytest.mark.parametrize("name", PUSHES)
@given(data=st.data())
def test_any_push_gets_an_ocpi_answer_never_a_5xx(
    partner: Partner, name: str, data: st.DataObject
) -> None:
    method, path, _ = PUSHES[name]
    assert_ocpi_answer(*ocpi_call(method, path, data.draw(BODIES[name])))


# (An empty command type matches no route: the site's 404, as for any wrong URL.)
@given(command_type=TEXT.filter(bool), body=JSON.map(as_json))
def test_any_command_result_gets_an_ocpi_answer(
    partner: Partner, command_type: str, body: bytes
) -> None:
    path = f"commands/{quote(command_type, safe='')}/{uuid.uuid4()}"
    assert_ocpi_answer(*ocpi_call("post", path, body))


@given(
    header=st.one_of(
        TEXT,
        TEXT.map(lambda text: "Token " + text),
        st.binary(max_size=24).map(lambda raw: "Token " + base64.b64encode(raw).decode()),
    )
)
def test_any_authorization_header_gets_an_ocpi_answer(partner: Partner, header: str) -> None:
    status, body = ocpi_call("get", "locations/BE/BEC/LOC1", HTTP_AUTHORIZATION=header)
    assert_ocpi_answer(status, body)


@given(
    query=st.dictionaries(
        st.sampled_from(["date_from", "date_to", "offset", "limit"]),
        st.one_of(TEXT, st.sampled_from(["²", "-1", "0", "10", "2026-01-01T00:00:00+01:00"])),
    )
)
def test_any_tokens_page_query_gets_an_ocpi_answer(partner: Partner, query: dict[str, str]) -> None:
    response = Client().get("/ocpi/2.2.1/tokens", query, HTTP_AUTHORIZATION=AUTH)
    assert_ocpi_answer(response.status_code, json.loads(response.content))


# --- valid objects read back the same ----------------------------------------------------------


@given(location=locations())
def test_a_valid_location_pushed_reads_back_the_same(
    partner: Partner, location: dict[str, Any]
) -> None:
    status, body = ocpi_call("put", "locations/BE/BEC/LOC1", as_json(location))
    assert (status, body["status_code"]) == (200, 1000), body
    status, body = ocpi_call("get", "locations/BE/BEC/LOC1")
    assert status == 200
    stored = body["data"]
    for name in ("name", "address", "city"):
        assert stored[name] == location[name]
    for axis in ("latitude", "longitude"):
        assert Decimal(stored["coordinates"][axis]) == Decimal(location["coordinates"][axis])
    sent = {evse["uid"]: evse for evse in location["evses"]}
    held = {evse["uid"]: evse for evse in stored["evses"]}
    assert set(sent) <= set(held)
    # EVSEs an earlier example listed and this one does not are kept, as REMOVED.
    assert all(held[uid]["status"] == "REMOVED" for uid in set(held) - set(sent))
    for uid, pushed_evse in sent.items():
        assert held[uid]["status"] == pushed_evse["status"]
        connector, pushed = held[uid]["connectors"][0], pushed_evse["connectors"][0]
        for name in ("standard", "max_voltage", "max_amperage"):
            assert connector[name] == pushed[name]
