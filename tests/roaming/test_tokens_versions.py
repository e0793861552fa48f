"""Our drivers' tokens with a CPO on each OCPI version (the sandbox speaking it, over loopback):
the push of a token, the CPO's pull of our tokens list, and the real-time authorization a CPO
asks for when a driver starts at the charger."""

from typing import Any

import httpx
import pytest

from payments.models import Payment
from payments.services import payment_method_remove
from roaming.adapters import adapter_for
from roaming.models import ChargingSession, DriverToken, OutboundCall
from roaming.ocpi.v221.schemas import Token
from roaming.services.tokens import driver_token_for_start
from tests.payments.conftest import card_add
from tests.roaming.charging import Net, hold_status, session_in, wait_for
from tests.sandbox.fixtures import OCPI_VERSIONS

pytestmark = pytest.mark.django_db(transaction=True)
every_version = pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)

# The type our app tokens have in each version: 2.1.1 has only OTHER and RFID.
OUR_TYPE = {"2.1.1": "OTHER", "2.2.1": "APP_USER", "2.3.0": "APP_USER"}
US = {"country_code": "NL", "party_id": "PLW"}


def held_by(net: Net, token: DriverToken, token_type: str) -> dict[str, Any] | None:
    """The token as the sandbox CPO holds it (in 2.2.1's shape, whatever it speaks)."""
    return net.sandbox.cpo.simulator.tokens.get(("NL", "PLW", token.uid, token_type))


def as_the_cpo(net: Net) -> dict[str, str]:
    """The headers the sandbox CPO calls us with (its token, in its version's form)."""
    registration = net.sandbox.cpo.desk.registration
    assert registration is not None
    return net.sandbox.cpo.catalogue.dialect.request_headers(registration.token_b)


@every_version
def test_a_drivers_token_reaches_the_cpo_as_its_version_has_tokens(
    charging_net: Net, sandbox_ocpi_version: str
) -> None:
    net = charging_net
    token = driver_token_for_start(user=net.driver())

    kind = OUR_TYPE[sandbox_ocpi_version]
    held = held_by(net, token, kind)
    assert held is not None, net.sandbox.cpo.simulator.tokens
    assert (held["uid"], held["type"], held["valid"], held["whitelist"], held["issuer"]) == (
        token.uid,
        kind,
        True,
        "NEVER",
        "Plugway",
    )
    # 2.1.1 names the driver by auth_id, which we give as the uid (Sessions and CDRs repeat it).
    old = sandbox_ocpi_version == "2.1.1"
    assert held["contract_id"] == (token.uid if old else token.contract_id)
    call = OutboundCall.objects.get(module="tokens")
    assert (call.method, call.http_status, call.error) == ("PUT", 201, "")
    assert f"/ocpi/{sandbox_ocpi_version}/tokens/NL/PLW/{token.uid}" in call.url


@pytest.mark.parametrize("sandbox_ocpi_version", ["2.1.1"])
def test_a_211_cpo_refuses_an_app_user_token_which_its_version_does_not_have(
    charging_net: Net,
) -> None:
    net = charging_net
    token = driver_token_for_start(user=net.driver())
    as_221 = {**adapter_for(net.partner).token_render(token), "type": "APP_USER"}
    url = f"{net.partner.endpoint('tokens', 'RECEIVER')}/NL/PLW/{token.uid}"

    # Sent as ours are (our token for the CPO, raw as 2.1.1 has it).
    headers = {
        "Authorization": net.sandbox.cpo.catalogue.dialect.auth_header(net.partner.outbound_token)
    }
    reply = httpx.put(url, params={"type": "APP_USER"}, json=as_221, headers=headers)

    assert (reply.status_code, reply.json()["status_code"]) == (400, 2001)
    assert "not one of OCPI 2.1.1's: OTHER, RFID" in reply.json()["status_message"]


@every_version
def test_the_cpo_pulls_our_tokens_list_in_its_version_as_it_was_pushed(
    charging_net: Net, sandbox_ocpi_version: str
) -> None:
    net = charging_net
    token = driver_token_for_start(user=net.driver())
    registration = net.sandbox.cpo.desk.registration
    assert registration is not None

    reply = httpx.get(registration.endpoints["tokens"], headers=as_the_cpo(net))

    assert reply.status_code == 200, reply.text
    assert reply.headers["X-Total-Count"] == "1"
    [listed] = reply.json()["data"]
    assert (listed["uid"], listed["type"]) == (token.uid, OUR_TYPE[sandbox_ocpi_version])
    assert ("country_code" in listed) == (sandbox_ocpi_version != "2.1.1")
    # Read as the sandbox reads its version's tokens, the listed one is the pushed one.
    dialect = net.sandbox.cpo.catalogue.dialect
    dialect.token_type_check(listed["type"])
    read = Token.model_validate(dialect.inbound("token", listed, US))
    assert read.model_dump(mode="json", exclude_none=True) == held_by(net, token, listed["type"])


@every_version
def test_a_driver_starting_at_the_charger_is_authorized_in_real_time_and_followed(
    charging_net: Net, sandbox_ocpi_version: str
) -> None:
    net = charging_net
    driver = net.driver()
    token = driver_token_for_start(user=driver)
    evse = net.evse()

    answer = net.sandbox.cpo.simulator.charger_start(
        evse.uid, token.uid, OUR_TYPE[sandbox_ocpi_version]
    )

    assert (answer["status_code"], answer["data"]["allowed"]) == (1000, "ALLOWED"), answer
    assert answer["data"]["location"]["evse_uids"] == [evse.uid]
    # 2.1.1's AuthorizationInfo echoes no token; later versions echo ours, valid.
    echoed = answer["data"].get("token")
    if sandbox_ocpi_version == "2.1.1":
        assert echoed is None
    else:
        assert (echoed["uid"], echoed["type"], echoed["valid"]) == (token.uid, "APP_USER", True)
    ours = wait_for(
        lambda: ChargingSession.objects.filter(user=driver).first(),
        what="the session the CPO opened after our ALLOWED",
    )
    session = session_in(str(ours.public_id), "active")
    assert (session.evse_id, session.commands.exists()) == (evse.pk, False)
    # The hold is placed once the partner's push has been answered.
    wait_for(lambda: Payment.objects.filter(charging_session=session).exists(), what="the hold")
    assert hold_status(net.localstripe, session) == "requires_capture"


@every_version
def test_a_blocked_driver_at_the_charger_is_refused_and_nothing_charges(
    charging_net: Net, sandbox_ocpi_version: str
) -> None:
    net = charging_net
    driver = net.driver(card=None)
    card = card_add(net.localstripe, driver)
    token = driver_token_for_start(user=driver)
    payment_method_remove(user=driver, payment_method_id=card.pk)
    evse = net.evse()

    answer = net.sandbox.cpo.simulator.charger_start(
        evse.uid, token.uid, OUR_TYPE[sandbox_ocpi_version]
    )

    assert (answer["status_code"], answer["data"]["allowed"]) == (1000, "BLOCKED"), answer
    assert answer["data"]["info"]["text"] == "No payment card on file."
    assert "location" not in answer["data"]
    assert net.sandbox.cpo.simulator.sessions == {}
    assert not ChargingSession.objects.filter(user=driver).exists()


@every_version
@pytest.mark.parametrize("asked_as", [None, "RFID"])
def test_a_cpo_asking_about_an_rfid_card_hears_we_issued_none(
    charging_net: Net, asked_as: str | None
) -> None:
    net = charging_net
    token = driver_token_for_start(user=net.driver())

    # Without a type the CPO asks about an RFID card (the default in every version).
    answer = net.sandbox.cpo.simulator.charger_start(net.evse().uid, token.uid, asked_as)

    assert answer["status_code"] == 2004, answer
    assert "data" not in answer
    assert net.sandbox.cpo.simulator.sessions == {}
