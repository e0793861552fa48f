"""localstripe on loopback for the payments tests, plus drivers with saved cards.

One localstripe process serves the whole session (scripts/localstripe_server.py, a free port);
every test that asks for `localstripe` starts from an empty store.
"""

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from pytest_django.fixtures import Settings

from payments.models import PaymentMethod
from payments.services import payment_method_save, payment_method_setup_start
from tests.conftest import ROOT

# Stripe's test cards (docs.stripe.com/testing); raw numbers only ever appear in tests.
VISA = "4242424242424242"
DECLINES_ON_CHARGE = "4000000000000341"
DECLINES_ON_SAVE = "4000000000000002"
NEEDS_AUTHENTICATION = "4000002500003155"


@dataclass
class LocalStripe:
    url: str

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": "Bearer sk_test_localstripe",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(req, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text.strip() else None

    def flush(self) -> None:
        self.request("DELETE", "/_config/data")

    def writes(self, path_suffix: str = "") -> list[str]:
        """The API writes localstripe received (e.g. "/capture" ones), oldest first."""
        return [
            r["path"]
            for r in self.request("GET", "/_config/requests")
            if r["path"].endswith(path_suffix)
        ]

    def payment_intent(self, pi_id: str) -> Any:
        return self.request("GET", f"/v1/payment_intents/{pi_id}")

    def confirm_setup(self, client_secret: str, number: str) -> Any:
        """What Stripe.js does in the browser: confirm a SetupIntent with a card (and complete
        the bank's authentication when the card asks for it)."""
        seti = client_secret.split("_secret_")[0]
        setup_intent = self.request(
            "POST",
            f"/v1/setup_intents/{seti}/confirm",
            {
                "key": "pk_test_localstripe",
                "client_secret": client_secret,
                "payment_method_data": {
                    "type": "card",
                    "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
                },
            },
        )
        if setup_intent["status"] == "requires_action":
            setup_intent = self.request(
                "POST",
                f"/v1/setup_intents/{seti}/confirm",
                {"key": "pk_test_localstripe", "client_secret": client_secret},
            )
        return setup_intent


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "localstripe_server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("localstripe listening on "):
        process.kill()
        pytest.fail(f"localstripe did not start: {line!r}")
    try:
        yield LocalStripe(url=line.rsplit(" ", 1)[1].strip())
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def localstripe(localstripe_server: LocalStripe, settings: Settings) -> LocalStripe:
    """An empty localstripe, and settings pointing the gateway at it."""
    localstripe_server.flush()
    settings.STRIPE_API_BASE = localstripe_server.url
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_plugway"
    return localstripe_server


@pytest.fixture
def driver(db: None) -> Any:
    return get_user_model().objects.create_user(
        username="driver", email="driver@example.com", password="a-long-password-1"
    )


def card_add(localstripe: LocalStripe, user: Any, number: str = VISA) -> PaymentMethod:
    """Save a card the way the card page does: SetupIntent, Stripe.js confirm, save."""
    setup = payment_method_setup_start(user=user)
    localstripe.confirm_setup(setup.client_secret, number)
    return payment_method_save(user=user, setup_intent_id=setup.id)


@pytest.fixture
def driver_with_card(localstripe: LocalStripe, driver: Any) -> Any:
    card_add(localstripe, driver)
    return driver
