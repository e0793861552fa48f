"""Driver tokens pushed to partners' tokens receivers over real loopback HTTP: the sandbox CPO
(registered through the real handshake) and scripted peers that fail as real ones do."""

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from config.celery import app as celery_app
from payments.services import payment_method_remove
from roaming.models import DriverToken, OutboundCall, Partner, PartnerState
from roaming.ocpi.v221.tokens import token_object
from roaming.services import partner_register
from roaming.services.tokens import (
    driver_token_for_start,
    driver_token_issue,
    driver_tokens_reconcile,
)
from roaming.tasks import driver_token_push_task
from tests.payments import conftest as payments_fixtures
from tests.payments.conftest import LocalStripe, card_add
from tests.roaming.peers import ScriptedPeer, SeenRequest, ocpi_body, scripted_peer
from tests.sandbox.fixtures import SandboxHandle, auth

pytestmark = pytest.mark.django_db(transaction=True)

localstripe_server = payments_fixtures.localstripe_server
localstripe = payments_fixtures.localstripe


@pytest.fixture
def sandbox(live_server: Any, settings: Settings, sandbox_cpo_factory: Any) -> SandboxHandle:
    """The sandbox CPO with Plugway registered at it through our live server."""
    settings.SITE_URL = live_server.url
    handle: SandboxHandle = sandbox_cpo_factory(stations=40)
    partner_register(name="Sandbox", versions_url=handle.versions_url, token_a=handle.token_a)
    return handle


def held_by(sandbox: SandboxHandle, token: DriverToken) -> dict[str, Any] | None:
    """The token as the sandbox CPO holds it."""
    return sandbox.cpo.simulator.tokens.get(("NL", "PLW", token.uid, "APP_USER"))


def start_session(sandbox: SandboxHandle, token: dict[str, Any]) -> dict[str, Any]:
    """START_SESSION at a remotely startable EVSE, as any eMSP would send it."""
    location, evse = next(
        (location, evse)
        for location in sandbox.cpo.catalogue.locations.values()
        for evse in location["evses"]
        if evse["status"] == "AVAILABLE" and "REMOTE_START_STOP_CAPABLE" in evse["capabilities"]
    )
    partner = Partner.objects.get(name="Sandbox")
    reply = httpx.post(
        f"{partner.endpoint('commands', 'RECEIVER')}/START_SESSION",
        headers=auth(partner.outbound_token),
        json={
            "response_url": "http://127.0.0.1:9/never-called",
            "token": token,
            "location_id": location["id"],
            "evse_uid": evse["uid"],
        },
    )
    data: dict[str, Any] = reply.json()["data"]
    return data


def test_a_new_token_is_pushed_and_a_blocked_one_is_refused_by_the_cpo(
    sandbox: SandboxHandle, localstripe: LocalStripe
) -> None:
    driver = get_user_model().objects.create_user(username="driver")
    card = card_add(localstripe, driver)

    token = driver_token_for_start(user=driver)

    held = held_by(sandbox, token)
    assert held is not None
    as_issued = token_object(token)
    assert held | {"last_updated": ""} == as_issued | {"last_updated": ""}
    assert (held["valid"], held["whitelist"], held["issuer"]) == (True, "NEVER", "Plugway")
    call = OutboundCall.objects.get(module="tokens")
    assert (call.method, call.http_status, call.error) == ("PUT", 201, "")
    assert call.url.endswith(f"/tokens/NL/PLW/{token.uid}")

    payment_method_remove(user=driver, payment_method_id=card.pk)
    assert driver_tokens_reconcile() == (0, 1)

    held = held_by(sandbox, token)
    assert held is not None
    assert held["valid"] is False
    # A start with the token as it was issued (valid) is refused: the CPO holds it blocked.
    refused = start_session(sandbox, as_issued)
    assert refused["result"] == "REJECTED"
    assert refused["message"][0]["text"] == f"Token {token.uid} is not valid."

    card_add(localstripe, driver)
    assert driver_tokens_reconcile() == (0, 1)
    held = held_by(sandbox, token)
    assert held is not None
    assert held["valid"] is True
    assert OutboundCall.objects.filter(module="tokens", http_status=200).count() == 2


def test_tokens_are_pushed_only_to_partners_with_a_tokens_receiver(
    sandbox: SandboxHandle,
) -> None:
    with scripted_peer() as peer:
        Partner.objects.create(
            name="No tokens",
            state=PartnerState.ACTIVE,
            version="2.2.1",
            endpoints={"locations": {"SENDER": f"{peer.url}/locations"}},
        )
        token = driver_token_issue(user=get_user_model().objects.create_user(username="d"))
        assert held_by(sandbox, token) is not None
        assert peer.seen == []


def peer_partner(peer: ScriptedPeer) -> Partner:
    return Partner.objects.create(
        name="Peer",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        endpoints={"tokens": {"RECEIVER": f"{peer.url}/ocpi/tokens/"}},
        outbound_token="peer-token-c",
    )


def token_with_uid(uid: str) -> DriverToken:
    return DriverToken.objects.create(
        user=get_user_model().objects.create_user(username="d"),
        uid=uid,
        contract_id="NL-PLW-C00000000-0",
    )


@pytest.fixture
def peer() -> Iterator[ScriptedPeer]:
    with scripted_peer() as scripted:
        yield scripted


def test_a_transient_failure_is_retried(
    peer: ScriptedPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([503, 502])
    peer.routes["/ocpi/tokens/NL/PLW/" + "X" * 24] = lambda _: (
        next(answers, 200),
        {"Content-Type": "application/json"},
        ocpi_body(None),
    )
    partner = peer_partner(peer)
    token = token_with_uid("X" * 24)

    # Run as a worker would, retries kept in-process (at once instead of after the countdown).
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    driver_token_push_task.apply(args=(token.pk, partner.pk))

    assert [request.method for request in peer.seen] == ["PUT", "PUT", "PUT"]
    assert peer.seen[0].path == f"/ocpi/tokens/NL/PLW/{token.uid}?type=APP_USER"
    partner.refresh_from_db()
    assert (partner.state, partner.last_error) == (PartnerState.ACTIVE, "")


def test_a_permanent_refusal_is_recorded_on_the_partner(peer: ScriptedPeer) -> None:
    peer.routes["/ocpi/tokens/NL/PLW/" + "Y" * 24] = lambda _: (
        401,
        {"Content-Type": "application/json"},
        ocpi_body(None, status_code=2000),
    )
    partner = peer_partner(peer)
    token = token_with_uid("Y" * 24)

    driver_token_push_task.apply(args=(token.pk, partner.pk))

    assert len(peer.seen) == 1
    partner.refresh_from_db()
    assert partner.state == PartnerState.DEGRADED
    assert partner.last_error == "token push: tokens: the partner refused our token (HTTP 401)"
    call = OutboundCall.objects.get(partner=partner)
    assert (call.http_status, call.module) == (401, "tokens")


def test_a_token_that_changes_while_it_is_sent_is_sent_again(peer: ScriptedPeer) -> None:
    """The partner ends up holding the token as it is now, not as it was when the push began."""
    uid = "Z" * 24
    bodies: list[dict[str, Any]] = []

    def receive(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        bodies.append(orjson.loads(request.body))
        if len(bodies) == 1:  # the driver's card goes while our first PUT is on the wire
            DriverToken.objects.filter(uid=uid).update(valid=False, last_updated=timezone.now())
            connection.close()  # this server thread's own connection
        return 200, {"Content-Type": "application/json"}, ocpi_body(None)

    peer.routes[f"/ocpi/tokens/NL/PLW/{uid}"] = receive
    partner = peer_partner(peer)
    token = token_with_uid(uid)

    driver_token_push_task.apply(args=(token.pk, partner.pk))

    assert [body["valid"] for body in bodies] == [True, False]
