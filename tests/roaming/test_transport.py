"""The outbound seam and the pagination client against a real (scripted) HTTP peer."""

import base64
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from pytest_django.fixtures import Settings

from roaming.adapters import adapter_class, adapter_for
from roaming.errors import PartnerError
from roaming.http import peer_request
from roaming.models import OutboundCall, Partner, PartnerRole, PartnerState
from roaming.ocpi.pagination import ocpi_paginate
from roaming.ocpi.transport import authorization_tokens, ocpi_datetime_parse, ocpi_timestamp
from roaming.services.credentials import roles_replace
from tests.roaming.peers import Reply, ScriptedPeer, SeenRequest, ocpi_body, scripted_peer

pytestmark = pytest.mark.django_db
EXAMPLES_230 = Path(__file__).parent / "ocpi_examples_230"


@pytest.fixture
def peer(settings: Settings) -> Iterator[ScriptedPeer]:
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01
    with scripted_peer() as running:
        yield running


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Made-up host names answered with `dns[name]`: one list of addresses per lookup, the last
    repeating (no DNS server is reachable here). Other names go to the real resolver."""
    answers: dict[str, list[list[str]]] = {}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, port: int | None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups = answers[host]
        addresses = lookups.pop(0) if len(lookups) > 1 else lookups[0]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port or 0),
            )
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


PUBLIC = "93.184.216.34"  # only ever answered to the check, never connected to


def query(request: SeenRequest) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(request.path).query).items()}


def paged_locations(total: int, *, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A peer that honours offset/limit but sends no Link header."""

    def reply(request: SeenRequest) -> Reply:
        params = query(request)
        offset, limit = int(params["offset"]), int(params["limit"])
        page = [{"id": f"LOC{n}"} for n in range(offset, min(offset + limit, total))]
        return 200, headers, ocpi_body(page)

    return reply


def all_ids(peer: ScriptedPeer, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    pages = ocpi_paginate(
        f"{peer.url}/locations", partner=None, module="locations", token="t", **kwargs
    )
    return [item["id"] for page in pages for item in page]


def test_follows_link_and_keeps_filters_the_peer_dropped(peer: ScriptedPeer) -> None:
    def reply(request: SeenRequest) -> Reply:
        params = query(request)
        offset = int(params["offset"])
        page = [{"id": f"LOC{n}"} for n in range(offset, min(offset + 2, 5))]
        headers = (
            {"Link": f'<{peer.url}/locations?offset={offset + 2}&limit=2>; rel="next"'}
            if offset + 2 < 5
            else {}
        )
        return 200, headers, ocpi_body(page)

    peer.routes["/locations"] = reply
    ids = all_ids(peer, limit=2, params={"date_from": "2026-11-01T00:00:00Z"})
    assert ids == ["LOC0", "LOC1", "LOC2", "LOC3", "LOC4"]
    assert [query(seen)["date_from"] for seen in peer.seen] == ["2026-11-01T00:00:00Z"] * 3


def test_without_link_uses_the_total_count(peer: ScriptedPeer) -> None:
    peer.routes["/locations"] = paged_locations(7, headers={"X-Total-Count": "7"})
    assert all_ids(peer, limit=3) == [f"LOC{n}" for n in range(7)]
    assert len(peer.seen) == 3


def test_smaller_server_limit_and_no_headers_reads_until_an_empty_page(peer: ScriptedPeer) -> None:
    def reply(request: SeenRequest) -> Reply:
        offset = int(query(request)["offset"])
        page = [{"id": f"LOC{n}"} for n in range(offset, min(offset + 2, 5))]  # ignores our limit
        return 200, {"X-Limit": "2"}, ocpi_body(page)

    peer.routes["/locations"] = reply
    assert all_ids(peer, limit=100) == [f"LOC{n}" for n in range(5)]


def test_single_object_without_its_list_and_null_data(peer: ScriptedPeer) -> None:
    peer.routes["/locations"] = lambda request: (200, {}, ocpi_body({"id": "ONLY"}))
    assert all_ids(peer) == ["ONLY"]
    peer.routes["/locations"] = lambda request: (200, {}, ocpi_body(None))
    assert all_ids(peer) == []


def test_a_link_that_leads_in_a_circle_is_an_error(peer: ScriptedPeer) -> None:
    peer.routes["/locations"] = lambda request: (
        200,
        {"Link": f'<{peer.url}/locations?offset=0&limit=1000>; rel="next"'},
        ocpi_body([{"id": "A"}]),
    )
    with pytest.raises(PartnerError, match="circle"):
        all_ids(peer)


def test_transient_failures_are_retried_then_succeed(peer: ScriptedPeer) -> None:
    replies = iter([(503, {}, b"busy"), (503, {}, b"busy"), (200, {}, ocpi_body([{"id": "A"}]))])
    peer.routes["/locations"] = lambda request: next(replies)
    assert all_ids(peer) == ["A"]
    assert len(peer.seen) == 3
    assert list(OutboundCall.objects.order_by("id").values_list("http_status", flat=True)) == [
        503,
        503,
        200,
    ]


def test_a_refused_token_is_permanent_and_not_retried(peer: ScriptedPeer) -> None:
    peer.routes["/locations"] = lambda request: (401, {}, b"")
    with pytest.raises(PartnerError, match="refused our token") as caught:
        all_ids(peer)
    assert caught.value.permanent
    assert len(peer.seen) == 1


def test_an_answer_that_is_not_ocpi_says_so(peer: ScriptedPeer) -> None:
    peer.routes["/locations"] = lambda request: (200, {}, b"<html>hello</html>")
    with pytest.raises(PartnerError, match="not JSON"):
        all_ids(peer)


def test_pushes_are_sent_once_even_when_they_fail(peer: ScriptedPeer) -> None:
    peer.routes["/sessions"] = lambda request: (503, {}, b"")
    with pytest.raises(PartnerError):
        peer_request("PUT", f"{peer.url}/sessions", partner=None, module="sessions", json={})
    assert len(peer.seen) == 1


def test_token_goes_base64_or_raw_with_request_ids(peer: ScriptedPeer) -> None:
    peer.routes["/versions"] = lambda request: (200, {}, ocpi_body([]))
    peer_request(
        "GET", f"{peer.url}/versions", partner=None, module="versions", token="example-token"
    )
    peer_request(
        "GET",
        f"{peer.url}/versions",
        partner=None,
        module="versions",
        token="example-token",
        raw_token=True,
    )
    encoded, raw = peer.seen
    assert encoded.headers["Authorization"] == "Token ZXhhbXBsZS10b2tlbg=="
    assert raw.headers["Authorization"] == "Token example-token"
    assert encoded.headers["X-Request-ID"] != raw.headers["X-Request-ID"]
    assert encoded.headers["X-Correlation-ID"]


def test_a_dripping_peer_is_cut_off_at_the_total_deadline(
    peer: ScriptedPeer, settings: Settings
) -> None:
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.5
    settings.OUTBOUND_GET_ATTEMPTS = 1
    peer.routes["/locations"] = lambda request: (200, {"drip": "1"}, ocpi_body([{"id": "A"}]))
    with pytest.raises(PartnerError, match=r"longer than 0\.5 s"):
        all_ids(peer)


def test_a_peer_dripping_its_headers_is_cut_off_at_the_total_deadline(
    peer: ScriptedPeer, settings: Settings
) -> None:
    """Each byte comes well within the read timeout, so only the total deadline can stop it
    (the whole header would take about ten seconds)."""
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.5
    settings.OUTBOUND_GET_ATTEMPTS = 1
    peer.routes["/locations"] = lambda request: (
        200,
        {"drip-headers": "1"},
        ocpi_body([{"id": "A"}]),
    )
    started = time.monotonic()
    with pytest.raises(PartnerError, match=r"longer than 0\.5 s"):
        all_ids(peer)
    assert time.monotonic() - started < 3
    call = OutboundCall.objects.get()
    assert "longer than 0.5 s" in call.error


def test_the_total_deadline_covers_retries_too(peer: ScriptedPeer, settings: Settings) -> None:
    """A GET is retried on transient failures, but never past the call's deadline: a dripping
    peer costs one deadline, not one per attempt."""
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.5
    settings.OUTBOUND_GET_ATTEMPTS = 4
    peer.routes["/locations"] = lambda request: (200, {"drip": "1"}, ocpi_body([{"id": "A"}]))
    with pytest.raises(PartnerError, match=r"longer than 0\.5 s"):
        all_ids(peer)
    assert len(peer.seen) == 1


def test_an_oversized_answer_is_refused(peer: ScriptedPeer, settings: Settings) -> None:
    settings.OUTBOUND_MAX_BODY_BYTES = 1000
    peer.routes["/locations"] = lambda request: (200, {}, ocpi_body([{"id": "x" * 2000}]))
    with pytest.raises(PartnerError, match="larger than") as caught:
        all_ids(peer)
    assert caught.value.permanent


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/versions",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00::1]/versions",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_internal_targets_are_refused_before_any_connection(url: str) -> None:
    with pytest.raises(PartnerError, match=r"not an allowed URL|private or internal") as caught:
        peer_request("GET", url, partner=None, module="versions")
    assert caught.value.permanent


def test_loopback_is_refused_unless_allowed(peer: ScriptedPeer, settings: Settings) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(PartnerError, match="private or internal"):
        peer_request("GET", f"{peer.url}/versions", partner=None, module="versions")
    assert peer.seen == []


def test_a_name_rebound_to_loopback_after_the_check_is_refused_at_connection(
    peer: ScriptedPeer, settings: Settings, dns: dict[str, list[list[str]]]
) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    dns["partner.example"] = [[PUBLIC], ["127.0.0.1"]]
    url = f"http://partner.example:{urlsplit(peer.url).port}/versions"
    with pytest.raises(PartnerError, match=r"partner\.example resolves to 127\.0\.0\.1") as caught:
        peer_request("GET", url, partner=None, module="versions")
    assert caught.value.permanent
    assert peer.seen == []
    call = OutboundCall.objects.get()
    assert (call.url, call.http_status) == (url, None)
    assert "partner.example resolves to 127.0.0.1, a private or internal address" in call.error


def test_a_name_with_one_internal_address_among_public_ones_is_refused(
    dns: dict[str, list[list[str]]],
) -> None:
    dns["partner.example"] = [[PUBLIC, "169.254.169.254"]]
    with pytest.raises(PartnerError, match=r"partner\.example resolves to 169\.254\.169\.254"):
        peer_request("GET", "http://partner.example/versions", partner=None, module="versions")


def test_an_allowed_name_connects_to_its_checked_addresses_in_order_and_keeps_its_name(
    peer: ScriptedPeer, dns: dict[str, list[list[str]]]
) -> None:
    # Like `localhost`: ::1 first, where nothing listens (the peer is on 127.0.0.1 only).
    dns["partner.example"] = [["::1", "127.0.0.1"]]
    peer.routes["/versions"] = lambda request: (200, {}, ocpi_body([]))
    port = urlsplit(peer.url).port
    reply = peer_request(
        "GET", f"http://partner.example:{port}/versions", partner=None, module="versions"
    )
    assert reply.status == 200
    assert peer.seen[0].headers["Host"] == f"partner.example:{port}"


def test_a_proxy_named_in_the_environment_still_carries_calls(
    peer: ScriptedPeer,
    settings: Settings,
    dns: dict[str, list[list[str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were the proxy skipped, the direct connection would look up 127.0.0.1 and be refused.
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    dns["partner.example"] = [[PUBLIC], ["127.0.0.1"]]
    monkeypatch.setenv("http_proxy", peer.url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    peer.routes["http://partner.example/versions"] = lambda request: (200, {}, ocpi_body([]))
    reply = peer_request("GET", "http://partner.example/versions", partner=None, module="versions")
    assert reply.status == 200
    assert [seen.path for seen in peer.seen] == ["http://partner.example/versions"]


def test_a_host_name_dns_cannot_carry_is_refused_plainly() -> None:
    with pytest.raises(PartnerError, match="not a valid host name") as caught:
        peer_request("GET", f"http://{'a' * 64}.example/", partner=None, module="versions")
    assert caught.value.permanent


def test_production_requires_https(settings: Settings) -> None:
    settings.OUTBOUND_REQUIRE_HTTPS = True
    with pytest.raises(PartnerError, match="use https"):
        peer_request("GET", "http://example.com/versions", partner=None, module="versions")


def test_timestamps_are_emitted_with_z_and_parsed_tolerantly() -> None:
    moment = ocpi_datetime_parse("2026-11-24T08:00:00")
    assert ocpi_timestamp(moment) == "2026-11-24T08:00:00Z"
    assert ocpi_datetime_parse("2026-11-24T09:00:00+01:00") == moment
    assert ocpi_datetime_parse("2026-11-24T08:00:00.250Z").microsecond == 250_000
    with pytest.raises(ValueError, match="RFC 3339"):
        ocpi_datetime_parse("yesterday")


def test_authorization_header_accepts_base64_and_raw_tokens() -> None:
    assert authorization_tokens("Token " + base64.b64encode(b"secret-c").decode())[0] == "secret-c"
    assert authorization_tokens("Token secret-c") == ["secret-c"]
    assert authorization_tokens("Bearer x") == []
    assert authorization_tokens(None) == []


def hub_serving_locations(peer: ScriptedPeer, version: str) -> Partner:
    """A connected hub whose locations sender is the peer (an empty list)."""
    hub = Partner.objects.create(
        name=f"Hub {version}",
        state=PartnerState.ACTIVE,
        version=version,
        endpoints={"locations": {"SENDER": f"{peer.url}/locations"}},
    )
    hub.outbound_token = "token-c"
    hub.save()
    peer.routes["/locations"] = lambda request: (200, {}, ocpi_body([]))
    return hub


def test_pulls_through_a_hub_carry_routing_headers(peer: ScriptedPeer) -> None:
    hub = hub_serving_locations(peer, "2.2.1")
    PartnerRole.objects.create(partner=hub, role="HUB", country_code="NL", party_id="HUB")
    list(adapter_for(hub).fetch_locations(since=None))
    headers = peer.seen[0].headers
    assert (headers["OCPI-to-country-code"], headers["OCPI-to-party-id"]) == ("NL", "HUB")
    assert (headers["OCPI-from-country-code"], headers["OCPI-from-party-id"]) == ("NL", "PLW")


def test_a_230_hub_names_itself_by_hub_party_id_and_pulls_are_routed_to_it(
    peer: ScriptedPeer,
) -> None:
    hub = hub_serving_locations(peer, "2.3.0")
    # 2.3.0 has no HUB role: a hub lists the operators behind it and names itself.
    behind = orjson.loads((EXAMPLES_230 / "credentials_example4.json").read_bytes())
    credentials = adapter_class("2.3.0").credentials_parse({**behind, "hub_party_id": "nlhub"})
    roles_replace(partner=hub, credentials=credentials)

    list(adapter_for(hub).fetch_locations(since=None))

    headers = peer.seen[0].headers
    assert (headers["OCPI-to-country-code"], headers["OCPI-to-party-id"]) == ("NL", "HUB")
    assert set(hub.roles.values_list("role", "party_id")) == {
        ("CPO", "EXO"),
        ("CPO", "PFC"),
        ("CPO", "CGP"),
        ("HUB", "HUB"),
    }
    with pytest.raises(PartnerError, match="hub_party_id"):
        adapter_class("2.3.0").credentials_parse({**behind, "hub_party_id": "NL-HUB"})
