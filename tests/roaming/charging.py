"""Charging on loopback: Plugway's live server registered with a running sandbox CPO, its
catalogue pulled, and localstripe for the holds.

`charging_net` gives a `Net`: drivers with saved cards, API clients signed in as them, our
catalogue's EVSEs picked by what the sandbox says about them, and `wait_for` to follow what
the sandbox pushes. Sandbox timings are fast (results after 0.05 s, a Session PATCH every
0.2 s); `charging_net_factory(**sandbox_config)` changes them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from locator.models import Evse
from payments.models import Payment
from roaming.models import ChargingSession, DriverToken, Partner
from roaming.ocpi.v221.tokens import token_object
from roaming.services import partner_register, partner_sync
from tests.payments.conftest import VISA, LocalStripe, card_add
from tests.sandbox.fixtures import SandboxHandle, auth


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a partner that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/ocpi/2.2.1/commands"


@dataclass
class Net:
    sandbox: SandboxHandle
    partner: Partner
    localstripe: LocalStripe
    clients: dict[str, Client] = field(default_factory=dict)

    def driver(self, name: str = "driver", card: str | None = VISA) -> User:
        user = get_user_model().objects.create_user(
            username=name, email=f"{name}@example.com", password="a-long-password-1"
        )
        if card is not None:
            card_add(self.localstripe, user, card)
        return user

    def client(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def sandbox_evse(self, evse: Evse) -> dict[str, Any]:
        return self.sandbox.cpo.catalogue.evses[evse.uid][1]

    def evse(
        self, *, status: str = "AVAILABLE", exclude: tuple[int, ...] = (), also: str = ""
    ) -> Evse:
        """One of our EVSEs of this partner that can be started remotely and that the sandbox
        holds in `status` (and so do we, after the pull)."""
        for evse in (
            Evse.objects.filter(
                location__source=f"partner:{self.partner.pk}",
                location__visible=True,
                location__remote_start=True,
            )
            .exclude(pk__in=exclude)
            .select_related("location")
            .order_by("pk")
        ):
            theirs = self.sandbox.cpo.catalogue.evses.get(evse.uid)
            if (
                theirs is not None
                and theirs[1]["status"] == status
                and "REMOTE_START_STOP_CAPABLE" in theirs[1]["capabilities"]
                and (not also or also in theirs[1]["capabilities"])
                and evse.status == status
            ):
                return evse
        raise AssertionError(f"no remotely startable {status} EVSE in the sandbox")

    def start(self, client: Client, evse: Evse) -> tuple[int, dict[str, Any]]:
        reply = client.post("/api/v1/sessions/", {"evse": evse.pk}, content_type="application/json")
        return reply.status_code, reply.json()

    def show(self, client: Client, public_id: str) -> dict[str, Any]:
        reply = client.get(f"/api/v1/sessions/{public_id}/")
        assert reply.status_code == 200, reply.content
        return reply.json()

    def stop(self, client: Client, public_id: str) -> tuple[int, dict[str, Any]]:
        reply = client.post(f"/api/v1/sessions/{public_id}/stop/")
        return reply.status_code, reply.json()

    def sandbox_token_put(self, token: DriverToken, **changes: Any) -> None:
        """What a tokens push does: PUT the driver's token to the sandbox's tokens receiver."""
        base = self.sandbox.versions_url.removesuffix("versions") + "2.2.1"
        reply = httpx.put(
            f"{base}/tokens/NL/PLW/{token.uid}?type=APP_USER",
            json={**token_object(token), **changes},
            headers=auth(self.partner.outbound_token),
        )
        assert reply.status_code in (200, 201), reply.text

    def push_to_us(self, method: str, path: str, body: Any) -> httpx.Response:
        """A push from the sandbox's side: its token B, to our receiver on the live server."""
        registration = self.sandbox.cpo.desk.registration
        assert registration is not None
        url = registration.endpoints["sessions"].rstrip("/") + path
        headers = registration.push_headers(self.sandbox.cpo.config)
        return httpx.request(method, url, json=body, headers=headers)

    def partner_down(self) -> None:
        """The partner's commands endpoint stops answering (connection refused)."""
        endpoints = dict(self.partner.endpoints)
        endpoints["commands"] = {"RECEIVER": closed_port_url()}
        Partner.objects.filter(pk=self.partner.pk).update(endpoints=endpoints)

    def partner_up(self) -> None:
        Partner.objects.filter(pk=self.partner.pk).update(endpoints=self.partner.endpoints)


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "the condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def session_in(public_id: str, *states: str, timeout: float = 10.0) -> ChargingSession:
    def reached() -> ChargingSession | None:
        session = ChargingSession.objects.get(public_id=public_id)
        return session if session.state in states else None

    found: ChargingSession = wait_for(reached, timeout=timeout, what=f"a session in {states}")
    return found


def hold_status(localstripe: LocalStripe, session: ChargingSession) -> str:
    """The hold's status as Stripe (localstripe) has it."""
    payment = Payment.objects.get(charging_session=session)
    assert payment.stripe_payment_intent_id
    status: str = localstripe.payment_intent(payment.stripe_payment_intent_id)["status"]
    return status


@pytest.fixture
def charging_net_factory(
    live_server: Any,
    settings: Settings,
    localstripe: LocalStripe,
    sandbox_cpo_factory: Callable[..., SandboxHandle],
) -> Callable[..., Net]:
    settings.SITE_URL = live_server.url
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01

    def connect(**sandbox_config: Any) -> Net:
        sandbox = sandbox_cpo_factory(**{"stations": 40, **sandbox_config})
        partner = partner_register(
            name="Sandbox", versions_url=sandbox.versions_url, token_a=sandbox.token_a
        )
        partner_sync(partner=partner, full=True)
        partner.refresh_from_db()
        return Net(sandbox=sandbox, partner=partner, localstripe=localstripe)

    return connect


@pytest.fixture
def charging_net(charging_net_factory: Callable[..., Net]) -> Net:
    return charging_net_factory()


def session_row(user: User, partner: Partner, **fields: Any) -> ChargingSession:
    """A session of ours as a start leaves it (no hold), for tests that need only the row."""
    token, _ = DriverToken.objects.get_or_create(
        user=user, defaults={"uid": f"UID-{user.pk}", "contract_id": f"NL-PLW-C{user.pk:08d}"}
    )
    values: dict[str, Any] = {
        "user": user,
        "token": token,
        "partner": partner,
        "authorization_reference": f"ref-{user.pk}-{ChargingSession.objects.count()}",
        "country_code": "NL",
        "party_id": "SBX",
        "location_ocpi_id": "LOC1",
        "evse_uid": "LOC1-1",
        "evse_label": "NL*SBX*E1",
        "currency": "EUR",
        "estimate": 2000,
        "operator_name": "Sandbox Energy",
        **fields,
    }
    return ChargingSession.objects.create(**values)


def session_pushed(
    token: DriverToken,
    *,
    country_code: str,
    party_id: str,
    session_id: str,
    location_id: str,
    evse_uid: str,
    **changes: Any,
) -> dict[str, Any]:
    """An OCPI Session an operator reports for our driver's token, started at the charger."""
    return {
        "country_code": country_code,
        "party_id": party_id,
        "id": session_id,
        "start_date_time": "2026-12-07T10:00:00Z",
        "kwh": 0.0,
        "cdr_token": {
            "country_code": "NL",
            "party_id": "PLW",
            "uid": token.uid,
            "type": "APP_USER",
            "contract_id": token.contract_id,
        },
        "auth_method": "WHITELIST",
        "location_id": location_id,
        "evse_uid": evse_uid,
        "connector_id": "1",
        "currency": "EUR",
        "charging_periods": [],
        "total_cost": {"excl_vat": 0.0, "incl_vat": 0.0},
        "status": "ACTIVE",
        "last_updated": "2026-12-07T10:00:00Z",
        **changes,
    }
