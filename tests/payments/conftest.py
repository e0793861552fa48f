"""localstripe on loopback for the payments tests, plus drivers with saved cards.

One localstripe process serves the whole session (scripts/localstripe_server.py, a free port);
every test that asks for `localstripe` starts from an empty store. `flaky_stripe` puts a
loopback proxy in front of it that fails chosen calls, as an overloaded Stripe would.
"""

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from pytest_django.fixtures import Settings

from payments.models import PaymentMethod
from payments.services import PaymentError, payment_method_save, payment_method_setup_start
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
        return [write["path"] for write in self._writes(path_suffix)]

    def idempotency_keys(self, path_suffix: str) -> list[str]:
        """The `Idempotency-Key` header of each of those writes ("" for one without)."""
        return [write["idempotency_key"] for write in self._writes(path_suffix)]

    def _writes(self, path_suffix: str) -> list[dict[str, str]]:
        log = self.request("GET", "/_config/requests")
        return [write for write in log if write["path"].endswith(path_suffix)]

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


@dataclass
class FlakyStripe:
    """A proxy to localstripe: the calls named in `failures` get a 503, once each. It notes the
    `Idempotency-Key` of every call it gets, failed or passed on."""

    url: str
    failures: list[tuple[str, str]] = field(default_factory=list)
    keys_seen: list[tuple[str, str, str]] = field(default_factory=list)

    def fail_once(self, method: str, path: str) -> None:
        """The next `method` request to exactly `path` fails without reaching localstripe."""
        self.failures.append((method, path))

    def idempotency_keys(self, method: str, path: str) -> list[str]:
        """The `Idempotency-Key` of each `method` call to exactly `path`, oldest first."""
        return [key for *call, key in self.keys_seen if tuple(call) == (method, path)]


def _proxy_handler(upstream: str, flaky: "list[FlakyStripe]") -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            rule = (self.command, self.path.split("?")[0])
            flaky[0].keys_seen.append((*rule, self.headers.get("Idempotency-Key", "")))
            if rule in flaky[0].failures:
                flaky[0].failures.remove(rule)
                self._answer(503, b'{"error": {"type": "api_error", "message": "overloaded"}}')
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            request = urllib.request.Request(
                upstream + self.path, data=body or None, method=self.command, headers=headers
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    self._answer(response.status, response.read())
            except urllib.error.HTTPError as error:
                self._answer(error.code, error.read())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _forward  # noqa: N815 - http.server names them so

    return Proxy


@pytest.fixture
def flaky_stripe(localstripe: LocalStripe, settings: Settings) -> Iterator[FlakyStripe]:
    """Stripe reached through a proxy that fails the calls a test names (`fail_once`)."""
    holder: list[FlakyStripe] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(localstripe.url, holder))
    holder.append(FlakyStripe(url=f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = holder[0].url
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def driver(db: None) -> Any:
    return get_user_model().objects.create_user(
        username="driver", email="driver@example.com", password="a-long-password-1"
    )


def concurrently(call: Callable[[], str], times: int) -> list[str]:
    """Run `call` from `times` threads at once; each outcome is its result or its error code."""

    def one(_: int) -> str:
        try:
            return call()
        except PaymentError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(one, range(times)))


def card_add(localstripe: LocalStripe, user: Any, number: str = VISA) -> PaymentMethod:
    """Save a card the way the card page does: SetupIntent, Stripe.js confirm, save."""
    setup = payment_method_setup_start(user=user)
    localstripe.confirm_setup(setup.client_secret, number)
    return payment_method_save(user=user, setup_intent_id=setup.id)


@pytest.fixture
def driver_with_card(localstripe: LocalStripe, driver: Any) -> Any:
    card_add(localstripe, driver)
    return driver
