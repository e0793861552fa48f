"""The credentials module, receiving side: a partner we invited registers with us."""

import base64
from collections.abc import Iterator
from io import StringIO
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.test import Client
from pytest_django.fixtures import Settings

from roaming.models import Partner, PartnerState
from roaming.services import partner_invite
from tests.roaming.peers import ScriptedPeer, SeenRequest, ocpi_body, scripted_peer

pytestmark = pytest.mark.django_db

CPO_TOKEN = "cpo-token-for-plugway"


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Token " + base64.b64encode(token.encode()).decode()}


@pytest.fixture
def cpo(settings: Settings) -> Iterator[ScriptedPeer]:
    """A CPO that serves its versions and details to whoever shows CPO_TOKEN."""
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01
    with scripted_peer() as peer:

        def guarded(data: Any):  # type: ignore[no-untyped-def]
            def reply(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
                expected = "Token " + base64.b64encode(CPO_TOKEN.encode()).decode()
                if request.headers.get("Authorization") != expected:
                    return 401, {}, ocpi_body(None, 2000)
                return 200, {}, ocpi_body(data)

            return reply

        peer.routes["/versions"] = guarded(
            [
                {"version": "2.1.1", "url": f"{peer.url}/211"},
                {"version": "2.2.1", "url": f"{peer.url}/221"},
            ]
        )
        peer.routes["/221"] = guarded(
            {
                "version": "2.2.1",
                "endpoints": [
                    {
                        "identifier": "credentials",
                        "role": "RECEIVER",
                        "url": f"{peer.url}/221/credentials",
                    },
                    {
                        "identifier": "locations",
                        "role": "SENDER",
                        "url": f"{peer.url}/221/locations",
                    },
                    {
                        "identifier": "commands",
                        "role": "RECEIVER",
                        "url": f"{peer.url}/221/commands",
                    },
                ],
            }
        )
        yield peer


def cpo_credentials(cpo: ScriptedPeer, **changes: Any) -> bytes:
    body = {
        "token": CPO_TOKEN,
        "url": f"{cpo.url}/versions",
        "roles": [
            {
                "role": "CPO",
                "party_id": "SBX",
                "country_code": "NL",
                "business_details": {"name": "Sandbox"},
            },
            {
                "role": "CPO",
                "party_id": "ABC",
                "country_code": "DE",
                "business_details": {"name": "Hub member"},
            },
        ],
    }
    return orjson.dumps(body | changes)


def register(
    client: Client, cpo: ScriptedPeer, auth_token: str, method: str = "post", **changes: Any
) -> Any:
    return getattr(client, method)(
        "/ocpi/2.2.1/credentials",
        cpo_credentials(cpo, **changes),
        content_type="application/json",
        **auth(auth_token),
    )


def test_invited_partner_registers_and_gets_a_token_c(client: Client, cpo: ScriptedPeer) -> None:
    partner, token_a = partner_invite(name="Sandbox")
    response = register(client, cpo, token_a)
    body = response.json()
    assert response.status_code == 200
    assert body["status_code"] == 1000
    token_c = body["data"]["token"]
    assert body["data"]["roles"][0]["role"] == "EMSP"
    assert body["data"]["url"].endswith("/ocpi/versions")

    partner.refresh_from_db()
    assert partner.state == PartnerState.ACTIVE
    assert partner.version == "2.2.1"
    assert partner.outbound_token == CPO_TOKEN
    assert partner.endpoint("locations") == f"{cpo.url}/221/locations"
    assert sorted(partner.roles.values_list("country_code", "party_id")) == [
        ("DE", "ABC"),
        ("NL", "SBX"),
    ]
    # We called the CPO back with the token it gave us before answering.
    assert [seen.path for seen in cpo.seen] == ["/versions", "/221"]

    assert client.get("/ocpi/versions", **auth(token_a)).status_code == 401
    listed = client.get("/ocpi/versions", **auth(token_c)).json()["data"]
    assert [item["version"] for item in listed] == ["2.3.0", "2.2.1", "2.1.1"]


def test_token_a_opens_only_versions_and_credentials(client: Client) -> None:
    _, token_a = partner_invite(name="Sandbox")
    assert client.get("/ocpi/versions", **auth(token_a)).status_code == 200
    details = client.get("/ocpi/2.2.1/", **auth(token_a)).json()["data"]
    assert {"identifier": "credentials", "role": "SENDER"}.items() <= details["endpoints"][
        0
    ].items()


def test_unknown_or_missing_token_is_401(client: Client) -> None:
    assert client.get("/ocpi/versions").status_code == 401
    response = client.get("/ocpi/versions", **auth("nobody"))
    assert response.status_code == 401
    assert response.json()["status_code"] == 2000


def test_raw_token_header_is_accepted(client: Client) -> None:
    _, token_a = partner_invite(name="Sandbox")
    assert client.get("/ocpi/versions", HTTP_AUTHORIZATION=f"Token {token_a}").status_code == 200


def test_405_rules(client: Client, cpo: ScriptedPeer) -> None:
    _, token_a = partner_invite(name="Sandbox")
    assert register(client, cpo, token_a, method="put").status_code == 405
    assert client.delete("/ocpi/2.2.1/credentials", **auth(token_a)).status_code == 405
    token_c = register(client, cpo, token_a).json()["data"]["token"]
    assert register(client, cpo, token_c).status_code == 405


def test_put_rotates_and_delete_unregisters(client: Client, cpo: ScriptedPeer) -> None:
    partner, token_a = partner_invite(name="Sandbox")
    token_c = register(client, cpo, token_a).json()["data"]["token"]
    rotated = register(client, cpo, token_c, method="put").json()["data"]["token"]
    assert rotated != token_c
    assert client.get("/ocpi/versions", **auth(token_c)).status_code == 401
    assert client.get("/ocpi/2.2.1/credentials", **auth(rotated)).json()["data"]["token"] == rotated

    assert client.delete("/ocpi/2.2.1/credentials", **auth(rotated)).status_code == 200
    partner.refresh_from_db()
    assert partner.state == PartnerState.UNREGISTERED
    assert partner.outbound_token == ""
    assert client.get("/ocpi/versions", **auth(rotated)).status_code == 401


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"token": ""}, 2001, "token"),
        ({"roles": []}, 2001, "roles"),
        ({"url": "http://10.0.0.7/versions"}, 3001, "private or internal"),
    ],
)
def test_bad_credentials_are_refused_with_the_reason(
    client: Client, cpo: ScriptedPeer, changes: dict[str, Any], status: int, message: str
) -> None:
    partner, token_a = partner_invite(name="Sandbox")
    body = register(client, cpo, token_a, **changes).json()
    assert body["status_code"] == status
    assert message in body["status_message"]
    partner.refresh_from_db()
    assert partner.state == PartnerState.INVITED


def test_unreachable_partner_is_3001_and_no_mutual_version_is_3002(
    client: Client, cpo: ScriptedPeer
) -> None:
    _, token_a = partner_invite(name="Sandbox")
    body = register(client, cpo, token_a, token="not-the-cpo-token").json()
    assert body["status_code"] == 3001
    assert "refused our token" in body["status_message"]

    cpo.routes["/versions"] = lambda request: (
        200,
        {},
        ocpi_body([{"version": "2.1.1", "url": f"{cpo.url}/211"}]),
    )
    body = register(client, cpo, token_a).json()
    assert body["status_code"] == 3002
    assert "no mutual OCPI version" in body["status_message"]


def test_missing_locations_endpoint_is_3003(client: Client, cpo: ScriptedPeer) -> None:
    _, token_a = partner_invite(name="Sandbox")
    cpo.routes["/221"] = lambda request: (
        200,
        {},
        ocpi_body(
            {
                "version": "2.2.1",
                "endpoints": [
                    {
                        "identifier": "credentials",
                        "role": "RECEIVER",
                        "url": f"{cpo.url}/221/credentials",
                    }
                ],
            }
        ),
    )
    body = register(client, cpo, token_a).json()
    assert body["status_code"] == 3003


def test_broken_json_is_a_400(client: Client) -> None:
    _, token_a = partner_invite(name="Sandbox")
    response = client.post(
        "/ocpi/2.2.1/credentials", b"{not json", content_type="application/json", **auth(token_a)
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001


def test_request_ids_are_echoed(client: Client) -> None:
    _, token_a = partner_invite(name="Sandbox")
    response = client.get(
        "/ocpi/versions", HTTP_X_REQUEST_ID="req-1", HTTP_X_CORRELATION_ID="corr-1", **auth(token_a)
    )
    assert response["X-Request-ID"] == "req-1"
    assert response["X-Correlation-ID"] == "corr-1"


def test_partner_cannot_claim_another_partners_role(client: Client, cpo: ScriptedPeer) -> None:
    _, first = partner_invite(name="Sandbox")
    register(client, cpo, first)
    other, token_a = partner_invite(name="Impostor")
    body = register(client, cpo, token_a).json()
    assert body["status_code"] == 2000
    assert "already belongs" in body["status_message"]
    other.refresh_from_db()
    assert other.state == PartnerState.INVITED
    assert Partner.objects.get(name="Sandbox").roles.count() == 2


def test_partner_cannot_claim_another_partners_party_under_another_role(
    client: Client, cpo: ScriptedPeer
) -> None:
    """NL*SBX belongs to the first partner as a CPO: a second one naming it as a HUB (or any
    other role) would then own its stations, so the registration is refused."""
    _, first = partner_invite(name="Sandbox")
    register(client, cpo, first)
    other, token_a = partner_invite(name="Impostor")
    hub_role = {
        "role": "HUB",
        "party_id": "SBX",
        "country_code": "NL",
        "business_details": {"name": "Impostor hub"},
    }
    body = register(client, cpo, token_a, roles=[hub_role]).json()
    assert body["status_code"] == 2000
    assert "NL*SBX already belongs to another" in body["status_message"]
    other.refresh_from_db()
    assert other.state == PartnerState.INVITED
    assert not other.roles.exists()


def test_partner_cannot_claim_our_own_party(client: Client, cpo: ScriptedPeer) -> None:
    """Whoever holds a role of a party may write its objects: a partner naming NL*PLW, ours,
    could publish stations under Plugway's own name."""
    partner, token_a = partner_invite(name="Impostor")
    ours = {
        "role": "HUB",
        "party_id": "PLW",
        "country_code": "NL",
        "business_details": {"name": "Impostor hub"},
    }
    body = register(client, cpo, token_a, roles=[ours]).json()
    assert "NL*PLW is our own party" in body["status_message"]
    partner.refresh_from_db()
    assert partner.state == PartnerState.INVITED
    assert not partner.roles.exists()


def test_partner_invite_command_prints_url_and_a_working_token(client: Client) -> None:
    out = StringIO()
    call_command("partner_invite", "--name", "Sandbox", stdout=out)
    token_a = out.getvalue().split("token A:")[1].split()[0]
    assert "/ocpi/versions" in out.getvalue()
    assert client.get("/ocpi/versions", **auth(token_a)).status_code == 200


def test_each_version_lists_its_endpoints_and_an_unknown_version_is_404(client: Client) -> None:
    _, token_a = partner_invite(name="Sandbox")
    for version in ("2.1.1", "2.2.1", "2.3.0"):
        details = client.get(f"/ocpi/{version}/", **auth(token_a)).json()["data"]
        assert details["version"] == version
        credentials = next(e for e in details["endpoints"] if e["identifier"] == "credentials")
        assert credentials["url"].endswith(f"/ocpi/{version}/credentials")
        # 2.1.1 lists modules without roles; later versions say which side we are.
        assert ("role" in credentials) == (version != "2.1.1")
    unknown = client.get("/ocpi/2.0/credentials", **auth(token_a))
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 3002)
