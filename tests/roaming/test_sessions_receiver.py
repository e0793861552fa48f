"""Our sessions receiver: who may write what, PUT replaces, PATCH merges and appends, older
pushes are ignored, and each push moves the driver's session. Partners call over the test
client; holds go to localstripe."""

import base64
import copy
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client

from locator.services import catalogue_locations_upsert
from payments.models import Payment
from roaming.adapters import adapter_for
from roaming.crypto import token_hash
from roaming.models import ChargingSession, DriverToken, Partner, PartnerRole, PartnerState
from roaming.selectors import driver_token_for_start
from roaming.services.sync import catalogue_source
from tests.payments.conftest import DECLINES_ON_CHARGE, VISA, LocalStripe, card_add
from tests.roaming.charging import session_pushed
from tests.roaming.test_receivers import example

pytestmark = pytest.mark.django_db(transaction=True)

CPO_TOKEN = "cpo-token-b"
OTHER_TOKEN = "other-token-b"
URL = "/ocpi/2.2.1/sessions/BE/BEC/S-1"


def partner_with(name: str, token: str, country_code: str, party_id: str) -> Partner:
    partner = Partner.objects.create(
        name=name,
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash(token),
    )
    PartnerRole.objects.create(
        partner=partner, role="CPO", country_code=country_code, party_id=party_id
    )
    return partner


@pytest.fixture
def cpo() -> Partner:
    """The operator of the spec's example location LOC1 (BE*BEC), which we hold."""
    partner = partner_with("Belgian CPO", CPO_TOKEN, "BE", "BEC")
    record = adapter_for(partner).location_parse(example("location_example.json"))
    catalogue_locations_upsert(source=catalogue_source(partner), records=[record])
    return partner


@pytest.fixture
def other_cpo() -> Partner:
    return partner_with("Other CPO", OTHER_TOKEN, "DE", "OTH")


def driver_with(localstripe: LocalStripe, name: str, card: str = VISA) -> User:
    user = get_user_model().objects.create_user(username=name, password="a-long-password-1")
    card_add(localstripe, user, card)
    return user


@pytest.fixture
def driver(localstripe: LocalStripe) -> User:
    return driver_with(localstripe, "driver")


def session_body(token: DriverToken, **changes: Any) -> dict[str, Any]:
    return session_pushed(
        token,
        country_code="BE",
        party_id="BEC",
        session_id="S-1",
        location_id="LOC1",
        evse_uid="3256",
        **changes,
    )


def period(at: str, kwh: float) -> dict[str, Any]:
    return {"start_date_time": at, "dimensions": [{"type": "ENERGY", "volume": kwh}]}


def call(
    client: Client, method: str, body: Any, *, token: str = CPO_TOKEN, url: str = URL
) -> tuple[int, dict[str, Any]]:
    auth = "Token " + base64.b64encode(token.encode()).decode()
    data = json.dumps(body) if body is not None else ""
    reply = getattr(client, method)(
        url, data=data, content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    return reply.status_code, reply.json()


def test_session_started_at_the_charger_with_our_token_becomes_the_drivers(
    client: Client, cpo: Partner, driver: User
) -> None:
    token = driver_token_for_start(user=driver)
    status, answer = call(client, "put", session_body(token))
    assert (status, answer["status_code"]) == (200, 1000)

    session = ChargingSession.objects.get()
    assert session.user == driver
    assert session.state == "active"
    assert session.ocpi_session_id == "S-1"
    assert session.evse is not None
    assert session.evse.uid == "3256"
    assert session.location_ocpi_id == "LOC1"
    events = list(session.events.values_list("cause", flat=True))
    assert events[0] == "Started at the charger with the driver's token"
    # A hold to bill against is placed once the push is answered.
    payment = Payment.objects.get(charging_session=session)
    assert payment.status == "requires_capture"
    assert payment.reference == f"session-{session.public_id}"


def test_charger_started_session_without_a_hold_goes_on_flagged_for_an_admin(
    client: Client, cpo: Partner, localstripe: LocalStripe
) -> None:
    driver = driver_with(localstripe, "declined", DECLINES_ON_CHARGE)
    token = driver_token_for_start(user=driver)
    status, _ = call(client, "put", session_body(token))
    assert status == 200

    session = ChargingSession.objects.get()
    assert session.state == "active"
    assert session.needs_attention.startswith("No hold on the card (card_declined)")
    assert "bill this charge by hand" in session.needs_attention


def test_patch_merges_fields_and_appends_charging_periods(
    client: Client, cpo: Partner, driver: User
) -> None:
    token = driver_token_for_start(user=driver)
    first = period("2026-12-07T10:00:00Z", 1.5)
    call(client, "put", session_body(token, kwh=1.5, charging_periods=[first]))

    status, _ = call(
        client,
        "patch",
        {
            "kwh": 3.25,
            "charging_periods": [period("2026-12-07T10:10:00Z", 1.75)],
            "total_cost": {"excl_vat": 1.0, "incl_vat": 1.21},
            "last_updated": "2026-12-07T10:10:00Z",
        },
    )
    assert status == 200
    session = ChargingSession.objects.get()
    assert float(session.kwh) == 3.25
    assert session.running_cost == 121
    assert [p["dimensions"]["ENERGY"] for p in session.charging_periods] == ["1.5", "1.75"]
    # 1.75 kWh more in 10 minutes: 10.5 kW on the chart.
    assert float(session.power_kw) == 10.5
    assert [float(s.kwh) for s in session.samples.all()] == [1.5, 3.25]

    call(client, "patch", {"status": "COMPLETED", "last_updated": "2026-12-07T10:20:00Z"})
    session.refresh_from_db()
    assert session.state == "completed"
    assert float(session.kwh) == 3.25  # a PATCH without kwh leaves it
    assert len(session.charging_periods) == 2


def test_put_replaces_the_session_periods_included(
    client: Client, cpo: Partner, driver: User
) -> None:
    token = driver_token_for_start(user=driver)
    call(client, "put", session_body(token, charging_periods=[period("2026-12-07T10:00:00Z", 1)]))
    replacement = session_body(
        token,
        kwh=2.0,
        charging_periods=[period("2026-12-07T10:05:00Z", 2)],
        last_updated="2026-12-07T10:05:00Z",
    )
    assert call(client, "put", replacement)[0] == 200
    session = ChargingSession.objects.get()
    assert [p["start"] for p in session.charging_periods] == ["2026-12-07T10:05:00+00:00"]

    status, answer = call(client, "get", None)
    assert status == 200
    assert answer["data"]["kwh"] == 2.0
    assert answer["data"]["charging_periods"] == [
        {
            "start_date_time": "2026-12-07T10:05:00+00:00",
            "dimensions": [{"type": "ENERGY", "volume": 2.0}],
        }
    ]
    assert answer["data"]["cdr_token"]["uid"] == token.uid


def test_out_of_order_pushes_are_acknowledged_and_ignored(
    client: Client, cpo: Partner, driver: User
) -> None:
    token = driver_token_for_start(user=driver)
    call(client, "put", session_body(token, kwh=5.0, last_updated="2026-12-07T10:30:00Z"))

    status, answer = call(
        client,
        "patch",
        {
            "kwh": 1.0,
            "charging_periods": [period("2026-12-07T10:05:00Z", 1)],
            "status": "COMPLETED",
            "last_updated": "2026-12-07T10:05:00Z",
        },
    )
    assert (status, answer["status_code"]) == (200, 1000)
    assert answer["status_message"] == "Ignored: we hold a newer version of this object"
    older_put = session_body(token, kwh=0.5, last_updated="2026-12-07T10:01:00Z")
    assert call(client, "put", older_put)[1]["status_message"].startswith("Ignored")

    session = ChargingSession.objects.get()
    assert float(session.kwh) == 5.0
    assert session.state == "active"
    assert session.charging_periods == []
    assert session.samples.count() == 1


def test_invalid_session_ends_the_start_and_releases_the_hold(
    client: Client, cpo: Partner, driver: User, localstripe: LocalStripe
) -> None:
    token = driver_token_for_start(user=driver)
    call(client, "put", session_body(token, status="PENDING"))
    session = ChargingSession.objects.get()
    assert session.state == "accepted"

    call(client, "patch", {"status": "INVALID", "last_updated": "2026-12-07T10:01:00Z"})
    session.refresh_from_db()
    assert session.state == "failed"
    assert session.state_message == "The charger could not start the charge. Nothing was charged."
    payment = Payment.objects.get(charging_session=session)
    assert localstripe.payment_intent(payment.stripe_payment_intent_id)["status"] == "canceled"


def test_a_partner_cannot_write_another_partys_session(
    client: Client, cpo: Partner, other_cpo: Partner, driver: User
) -> None:
    token = driver_token_for_start(user=driver)
    call(client, "put", session_body(token))

    # Not its party: refused whatever the body says.
    status, answer = call(client, "put", session_body(token, kwh=99.0), token=OTHER_TOKEN)
    assert (status, answer["status_code"]) == (404, 2000)
    status, _ = call(
        client, "patch", {"kwh": 99.0, "last_updated": "2026-12-07T11:00:00Z"}, token=OTHER_TOKEN
    )
    assert status == 404
    assert call(client, "get", None, token=OTHER_TOKEN)[0] == 404
    # Under its own party it cannot reach the other operator's session either.
    url = "/ocpi/2.2.1/sessions/DE/OTH/S-1"
    patch = {"kwh": 99.0, "last_updated": "2026-12-07T11:00:00Z"}
    assert call(client, "patch", patch, token=OTHER_TOKEN, url=url)[0] == 404
    assert float(ChargingSession.objects.get().kwh) == 0.0


def test_a_session_of_a_token_we_did_not_issue_is_refused(
    client: Client, cpo: Partner, driver: User
) -> None:
    token = driver_token_for_start(user=driver)
    strangers = session_body(token)
    strangers["cdr_token"] = {**strangers["cdr_token"], "party_id": "XYZ"}
    status, answer = call(client, "put", strangers)
    assert (status, answer["status_code"]) == (400, 2001)
    assert "not a token we issued" in answer["status_message"]
    unknown = copy.deepcopy(session_body(token))
    unknown["cdr_token"]["uid"] = "NOT-OURS"
    assert call(client, "put", unknown)[0] == 400
    assert not ChargingSession.objects.exists()


def test_ids_in_the_url_must_match_the_body(client: Client, cpo: Partner, driver: User) -> None:
    token = driver_token_for_start(user=driver)
    status, answer = call(client, "put", session_body(token, id="S-2"))
    assert (status, answer["status_code"]) == (400, 2001)
    assert "id in the body (S-2)" in answer["status_message"]
    status, answer = call(client, "put", {"id": "S-1", "kwh": "lots"})
    assert (status, answer["status_code"]) == (400, 2001)
    assert not ChargingSession.objects.exists()


def test_patch_of_a_session_we_do_not_hold_is_404(client: Client, cpo: Partner) -> None:
    status, answer = call(client, "patch", {"kwh": 1, "last_updated": "2026-12-07T10:00:00Z"})
    assert (status, answer["status_code"]) == (404, 2000)
    assert "PUT it first" in answer["status_message"]
