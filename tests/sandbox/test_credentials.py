"""The credentials handshake as the receiving CPO: tokens A, B and C, and the 405 rules."""

from __future__ import annotations

import httpx

from tests.sandbox.fixtures import EmspReceiver, SandboxHandle, auth, register


def _credentials_url(sandbox: SandboxHandle) -> str:
    return sandbox.versions_url.removesuffix("/versions") + "/2.2.1/credentials"


def _locations_url(sandbox: SandboxHandle) -> str:
    return sandbox.versions_url.removesuffix("/versions") + "/2.2.1/locations"


def test_version_details_list_every_cpo_module(sandbox_cpo: SandboxHandle) -> None:
    details = httpx.get(
        sandbox_cpo.versions_url.removesuffix("/versions") + "/2.2.1", headers=auth("sandbox-a")
    ).json()["data"]
    roles = {e["identifier"]: e["role"] for e in details["endpoints"]}
    assert roles == {
        "credentials": "SENDER",
        "locations": "SENDER",
        "tariffs": "SENDER",
        "sessions": "SENDER",
        "cdrs": "SENDER",
        "commands": "RECEIVER",
        "tokens": "RECEIVER",
    }


def test_registration_calls_the_emsp_back_with_token_b_and_returns_token_c(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    token_c = register(sandbox_cpo, emsp_receiver)
    callbacks = [r for r in emsp_receiver.requests if r.method == "GET"]
    assert [r.path for r in callbacks] == ["/ocpi/emsp/versions", "/ocpi/emsp/2.2.1"]
    assert all(
        r.headers["Authorization"] == auth("emsp-token-b")["Authorization"] for r in callbacks
    )
    # OCPI 2.2.1 asks for a request id and a correlation id on every request, call-backs too.
    request_ids = [r.headers.get("X-Request-ID") for r in callbacks]
    assert all(request_ids)
    assert len(set(request_ids)) == len(callbacks)
    assert all(r.headers.get("X-Correlation-ID") for r in callbacks)
    assert token_c not in ("sandbox-a", "emsp-token-b")
    mine = httpx.get(_credentials_url(sandbox_cpo), headers=auth(token_c)).json()["data"]
    assert mine["token"] == token_c
    assert mine["roles"][0] == {
        "role": "CPO",
        "party_id": "SBX",
        "country_code": "NL",
        "business_details": {
            "name": "Plugway Sandbox CPO",
            "website": "https://sandbox.plugway.example.com",
        },
    }
    assert httpx.get(_locations_url(sandbox_cpo), headers=auth(token_c)).status_code == 200


def test_token_a_stops_working_after_registration(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    register(sandbox_cpo, emsp_receiver)
    for url in (sandbox_cpo.versions_url, _credentials_url(sandbox_cpo)):
        assert httpx.get(url, headers=auth("sandbox-a")).status_code == 401


def test_token_a_never_opens_functional_modules(sandbox_cpo: SandboxHandle) -> None:
    reply = httpx.get(_locations_url(sandbox_cpo), headers=auth("sandbox-a"))
    assert reply.status_code == 401
    assert "register first" in reply.json()["status_message"]


def test_missing_or_unknown_token_is_401(sandbox_cpo: SandboxHandle) -> None:
    assert httpx.get(sandbox_cpo.versions_url).status_code == 401
    assert httpx.get(sandbox_cpo.versions_url, headers=auth("guess")).status_code == 401


def test_second_post_is_405_and_put_before_registration_is_405(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    url = _credentials_url(sandbox_cpo)
    early_put = httpx.put(url, headers=auth("sandbox-a"), json=emsp_receiver.credentials())
    assert early_put.status_code == 405
    early_delete = httpx.delete(url, headers=auth("sandbox-a"))
    assert early_delete.status_code == 405
    token_c = register(sandbox_cpo, emsp_receiver)
    again = httpx.post(url, headers=auth(token_c), json=emsp_receiver.credentials())
    assert again.status_code == 405
    assert "PUT" in again.headers["Allow"]


def test_put_rotates_token_c_and_uses_the_new_token_b(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    old_c = register(sandbox_cpo, emsp_receiver)
    emsp_receiver.token_b = "emsp-token-b2"
    reply = httpx.put(
        _credentials_url(sandbox_cpo), headers=auth(old_c), json=emsp_receiver.credentials()
    )
    assert reply.status_code == 200, reply.text
    new_c = reply.json()["data"]["token"]
    assert new_c != old_c
    assert (
        emsp_receiver.requests[-1].headers["Authorization"]
        == auth("emsp-token-b2")["Authorization"]
    )
    assert httpx.get(_locations_url(sandbox_cpo), headers=auth(old_c)).status_code == 401
    assert httpx.get(_locations_url(sandbox_cpo), headers=auth(new_c)).status_code == 200


def test_delete_unregisters_and_token_a_opens_registration_again(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    token_c = register(sandbox_cpo, emsp_receiver)
    assert (
        httpx.delete(_credentials_url(sandbox_cpo), headers=auth(token_c)).json()["status_code"]
        == 1000
    )
    assert httpx.get(_locations_url(sandbox_cpo), headers=auth(token_c)).status_code == 401
    assert register(sandbox_cpo, emsp_receiver) != token_c


def test_unreachable_emsp_gets_3001_and_stays_unregistered(sandbox_cpo: SandboxHandle) -> None:
    body = {
        "token": "b",
        "url": "http://127.0.0.1:9/versions",
        "roles": [
            {
                "role": "EMSP",
                "business_details": {"name": "X"},
                "party_id": "XXX",
                "country_code": "NL",
            }
        ],
    }
    reply = httpx.post(_credentials_url(sandbox_cpo), headers=auth("sandbox-a"), json=body)
    assert reply.json()["status_code"] == 3001
    assert "Could not fetch your versions" in reply.json()["status_message"]
    assert httpx.get(sandbox_cpo.versions_url, headers=auth("sandbox-a")).status_code == 200


def test_invalid_credentials_body_is_a_clear_2001(sandbox_cpo: SandboxHandle) -> None:
    reply = httpx.post(
        _credentials_url(sandbox_cpo), headers=auth("sandbox-a"), json={"token": "x", "url": "y"}
    )
    assert reply.status_code == 400
    assert reply.json()["status_code"] == 2001
    assert "roles" in reply.json()["status_message"]
    broken = httpx.post(
        _credentials_url(sandbox_cpo), headers=auth("sandbox-a"), content=b"{not json"
    )
    assert broken.status_code == 400


def test_raw_tokens_are_refused_unless_switched_on(sandbox_cpo_factory) -> None:
    strict = sandbox_cpo_factory()
    raw = {"Authorization": "Token sandbox-a"}
    assert httpx.get(strict.versions_url, headers=raw).status_code == 401
    lenient = sandbox_cpo_factory(accept_raw_tokens=True)
    assert httpx.get(lenient.versions_url, headers=raw).status_code == 200
    assert httpx.get(lenient.versions_url, headers=auth("sandbox-a")).status_code == 200


def test_wrong_methods_are_405_with_allow(
    sandbox_cpo: SandboxHandle, emsp_receiver: EmspReceiver
) -> None:
    token_c = register(sandbox_cpo, emsp_receiver)
    reply = httpx.post(_locations_url(sandbox_cpo), headers=auth(token_c), json={})
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "GET"
    assert httpx.delete(sandbox_cpo.versions_url, headers=auth(token_c)).status_code == 405


def test_request_and_correlation_ids_are_echoed(sandbox_cpo: SandboxHandle) -> None:
    headers = {**auth("sandbox-a"), "X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    reply = httpx.get(sandbox_cpo.versions_url, headers=headers)
    assert reply.headers["X-Request-ID"] == "req-1"
    assert reply.headers["X-Correlation-ID"] == "corr-1"
