"""Sandbox CPO fixtures (a pytest plugin that tests/conftest.py loads for the whole suite): a
live sandbox CPO, and a tiny eMSP receiver to register with it.

`sandbox_cpo` starts a real sandbox CPO (in a thread, on a free loopback port, real HTTP) and
yields a `SandboxHandle` with its `versions_url` and `token_a`; `sandbox_cpo_factory` does the
same with your own `SandboxConfig` fields (e.g. `fail_rate=0.5`). Timings are fast by default
(pushes every 0.2 s, command results after 0.05 s), so a full charge takes well under a second.

`sandbox_ocpi_version` (2.2.1 unless a test parametrizes it) is the version they speak.

`sandbox_cpo_process` runs the real `manage.py sandbox_cpo` command in a subprocess instead.

`emsp_receiver` is a plain stdlib HTTP server playing the eMSP (OCPI 2.2.1, or the `version`
set on it): it serves versions and version details (credentials, locations, sessions, cdrs
receivers), accepts every push with an OCPI success envelope, and records each request so a test
can wait for it.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sandbox.config import SandboxConfig
from sandbox.server import SandboxCpo

ROOT = Path(__file__).resolve().parents[2]
OCPI_VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
FAST = {
    "host": "127.0.0.1",
    "port": 0,
    "stations": 60,
    "push_interval": 0.2,
    "command_delay": 0.05,
    "push_timeout": 2.0,
    "log_requests": False,
}


@dataclass
class SandboxHandle:
    versions_url: str
    token_a: str
    cpo: SandboxCpo  # the running instance, for tests that look inside


@pytest.fixture
def sandbox_ocpi_version() -> str:
    """The OCPI version the sandbox CPO speaks; a test runs on others by parametrizing it:
    `@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)`."""
    return "2.2.1"


@pytest.fixture
def sandbox_cpo_factory(sandbox_ocpi_version: str) -> Iterator[Callable[..., SandboxHandle]]:
    started: list[SandboxCpo] = []

    def start(**overrides: Any) -> SandboxHandle:
        config = {**FAST, "ocpi_version": sandbox_ocpi_version, **overrides}
        cpo = SandboxCpo(SandboxConfig(**config))
        cpo.start()
        started.append(cpo)
        return SandboxHandle(cpo.versions_url, cpo.config.token_a, cpo)

    yield start
    for cpo in started:
        cpo.stop()


@dataclass
class SandboxProcess:
    versions_url: str
    token_a: str
    process: subprocess.Popen[str]


@pytest.fixture
def sandbox_cpo_process() -> Iterator[Callable[..., SandboxProcess]]:
    """Start `manage.py sandbox_cpo` as a real process on a free port (extra CLI args allowed)."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, token_a: str = "sandbox-a") -> SandboxProcess:  # noqa: S107
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "sandbox_cpo",
                "--port",
                "0",
                "--token-a",
                token_a,
                "--quiet",
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        for line in process.stdout:
            if "versions URL:" in line:
                return SandboxProcess(line.split("versions URL:")[1].strip(), token_a, process)
        pytest.fail(f"sandbox_cpo exited ({process.wait()}) without printing its versions URL")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sandbox_cpo(sandbox_cpo_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    return sandbox_cpo_factory()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class EmspReceiver:
    """The eMSP side of the tests: what it serves and what it was sent."""

    token_b: str = "emsp-token-b"
    version: str = "2.2.1"  # or 2.3.0 (the same shapes for what it serves); not 2.1.1
    requests: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    base_url: str = ""
    reply_status: int = 200

    @property
    def versions_url(self) -> str:
        return f"{self.base_url}/ocpi/emsp/versions"

    def credentials(self, token_b: str | None = None) -> dict[str, Any]:
        return {
            "token": token_b or self.token_b,
            "url": self.versions_url,
            "roles": [
                {
                    "role": "EMSP",
                    "business_details": {"name": "Test eMSP"},
                    "party_id": "TMS",
                    "country_code": "NL",
                }
            ],
        }

    def pushes(self, prefix: str = "") -> list[Received]:
        return [r for r in self.requests if r.path.startswith(prefix) and r.method != "GET"]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.requests):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(r.method, r.path) for r in self.requests]
                    pytest.fail(f"the eMSP never received what the test waited for; got {seen}")
                self.changed.wait(remaining)
        return list(self.requests)


def _receiver_handler(receiver: EmspReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(
            self, status: int, data: Any = None, headers: dict[str, str] | None = None
        ) -> None:
            body: dict[str, Any] = {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
            if data is not None:
                body["data"] = data
            raw = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _record(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with receiver.changed:
                receiver.requests.append(
                    Received(
                        method, self.path, dict(self.headers), orjson.loads(raw) if raw else None
                    )
                )
                receiver.changed.notify_all()
            if self.headers.get("Authorization") != auth(receiver.token_b)["Authorization"]:
                self._answer(401)
                return
            base = f"{receiver.base_url}/ocpi/emsp"
            version = receiver.version
            if method == "GET" and self.path == "/ocpi/emsp/versions":
                self._answer(200, [{"version": version, "url": f"{base}/{version}"}])
            elif method == "GET" and self.path == f"/ocpi/emsp/{version}":
                modules = [
                    ("credentials", "SENDER"),
                    ("locations", "RECEIVER"),
                    ("sessions", "RECEIVER"),
                    ("cdrs", "RECEIVER"),
                    ("commands", "SENDER"),
                    ("tokens", "SENDER"),
                ]
                self._answer(
                    200,
                    {
                        "version": version,
                        "endpoints": [
                            {"identifier": m, "role": role, "url": f"{base}/{version}/{m}"}
                            for m, role in modules
                        ],
                    },
                )
            elif method == "POST" and self.path.endswith("/cdrs"):
                cdr_id = (orjson.loads(raw) or {}).get("id", "x")
                self._answer(
                    receiver.reply_status, headers={"Location": f"{base}/{version}/cdrs/{cdr_id}"}
                )
            else:
                self._answer(receiver.reply_status)

        def do_GET(self) -> None:
            self._record("GET")

        def do_POST(self) -> None:
            self._record("POST")

        def do_PUT(self) -> None:
            self._record("PUT")

        def do_PATCH(self) -> None:
            self._record("PATCH")

    return Handler


@pytest.fixture
def emsp_receiver() -> Iterator[EmspReceiver]:
    receiver = EmspReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(receiver))
    server.daemon_threads = True
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def register(sandbox: SandboxHandle | SandboxProcess, receiver: EmspReceiver) -> str:
    """The handshake as any eMSP does it, over plain HTTP; returns token C."""
    versions = httpx.get(sandbox.versions_url, headers=auth(sandbox.token_a)).json()["data"]
    details_url = next(v["url"] for v in versions if v["version"] == receiver.version)
    endpoints = httpx.get(details_url, headers=auth(sandbox.token_a)).json()["data"]["endpoints"]
    credentials_url = next(e["url"] for e in endpoints if e["identifier"] == "credentials")
    reply = httpx.post(credentials_url, headers=auth(sandbox.token_a), json=receiver.credentials())
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status_code"] == 1000, body
    token_c: str = body["data"]["token"]
    return token_c


def app_token(**changes: Any) -> dict[str, Any]:
    """A valid OCPI Token of the test eMSP, as a START_SESSION carries it."""
    return {
        "country_code": "NL",
        "party_id": "TMS",
        "uid": "APP-0001",
        "type": "APP_USER",
        "contract_id": "NL-TMS-C00000001-X",
        "issuer": "Test eMSP",
        "valid": True,
        "whitelist": "NEVER",
        "last_updated": "2026-01-01T00:00:00Z",
        **changes,
    }
