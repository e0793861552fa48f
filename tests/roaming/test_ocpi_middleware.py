"""Partner calls skip the browser's middleware, but not the checks that protect them."""

import pytest
from django.test import Client

from roaming.crypto import token_hash
from roaming.models import Partner, PartnerState

pytestmark = pytest.mark.django_db

AUTH = {"HTTP_AUTHORIZATION": "Token partner-token"}


@pytest.fixture(autouse=True)
def partner() -> Partner:
    return Partner.objects.create(
        name="CPO",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash("partner-token"),
    )


def test_an_ocpi_answer_sets_no_cookie_and_keeps_the_security_headers(client: Client) -> None:
    response = client.get("/ocpi/versions", **AUTH)
    assert response.status_code == 200
    assert not response.cookies
    assert response["X-Content-Type-Options"] == "nosniff"
    assert int(response["Content-Length"]) == len(response.content)


def test_an_ocpi_call_with_a_foreign_host_is_refused_as_anywhere(client: Client) -> None:
    assert client.get("/ocpi/versions", HTTP_HOST="evil.example", **AUTH).status_code == 400


def test_a_wrong_ocpi_url_is_the_usual_404(client: Client) -> None:
    response = client.get("/ocpi/2.2.1/nothing/here", **AUTH)
    assert response.status_code == 404
    assert response.content == client.get("/nothing/here").content
