"""Our commands response URLs: a CommandResult lands only on its own command, once."""

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from roaming.crypto import token_hash
from roaming.models import Command, CommandType, Partner, PartnerRole, PartnerState
from roaming.services.sessions import command_response_url
from tests.roaming.charging import session_row

pytestmark = pytest.mark.django_db


def partner_with(name: str, token: str, party_id: str) -> Partner:
    partner = Partner.objects.create(
        name=name, state=PartnerState.ACTIVE, version="2.2.1", inbound_token_hash=token_hash(token)
    )
    PartnerRole.objects.create(partner=partner, role="CPO", country_code="NL", party_id=party_id)
    return partner


@pytest.fixture
def start() -> Command:
    """A START_SESSION we sent to the sandbox operator, accepted, waiting for its result."""
    partner = partner_with("Sandbox", "sbx-token", "SBX")
    driver = get_user_model().objects.create_user(username="driver", password="x-long-pass-1")
    session = session_row(driver, partner, state="accepted")
    return Command.objects.create(
        partner=partner, session=session, type=CommandType.START_SESSION, status="waiting"
    )


def post(client: Client, url: str, body: Any, token: str = "sbx-token") -> tuple[int, Any]:  # noqa: S107
    auth = "Token " + base64.b64encode(token.encode()).decode()
    reply = client.post(
        url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    return reply.status_code, reply.json()


def path(command: Command) -> str:
    return urlsplit(command_response_url(command)).path


def test_each_command_has_its_own_response_url(start: Command) -> None:
    other = Command.objects.create(
        partner=start.partner, session=start.session, type=CommandType.STOP_SESSION
    )
    assert command_response_url(start) != command_response_url(other)
    assert command_response_url(start).endswith(
        f"/ocpi/2.2.1/commands/START_SESSION/{start.public_id}"
    )


def test_result_moves_the_session_and_a_repeat_changes_nothing(
    client: Client, start: Command
) -> None:
    status, answer = post(client, path(start), {"result": "ACCEPTED"})
    assert (status, answer["status_code"]) == (200, 1000)
    start.refresh_from_db()
    assert (start.status, start.result) == ("succeeded", "ACCEPTED")

    status, _ = post(
        client,
        path(start),
        {"result": "EVSE_OCCUPIED", "message": [{"language": "en", "text": "x"}]},
    )
    assert status == 200
    start.refresh_from_db()
    assert (start.status, start.result) == ("succeeded", "ACCEPTED")
    assert start.session is not None
    assert start.session.state == "accepted"
    assert "The charger answered the start too late (x): nothing changed" in [
        e.cause for e in start.session.events.all()
    ]


def test_unknown_command_is_404(client: Client, start: Command) -> None:
    url = path(start).replace(str(start.public_id), "00000000-0000-4000-8000-000000000000")
    status, answer = post(client, url, {"result": "ACCEPTED"})
    assert (status, answer["status_code"]) == (404, 2000)
    wrong_type = path(start).replace("START_SESSION", "STOP_SESSION")
    assert post(client, wrong_type, {"result": "ACCEPTED"})[0] == 404


def test_a_partner_cannot_post_the_result_of_another_partners_command(
    client: Client, start: Command
) -> None:
    partner_with("Other", "other-token", "OTH")
    status, _ = post(client, path(start), {"result": "EVSE_OCCUPIED"}, token="other-token")
    assert status == 404
    start.refresh_from_db()
    assert (start.status, start.result) == ("waiting", "")


def test_strangers_and_bad_results_are_refused(client: Client, start: Command) -> None:
    assert post(client, path(start), {"result": "ACCEPTED"}, token="nobody")[0] == 401
    status, answer = post(client, path(start), {"result": "MAYBE"})
    assert (status, answer["status_code"]) == (400, 2001)
    assert "result" in answer["status_message"]
    start.refresh_from_db()
    assert start.status == "waiting"
