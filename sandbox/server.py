"""The sandbox CPO's HTTP side: a threading stdlib HTTP server around `routes.Routes`.

Why the stdlib server: every location is pre-serialised (see `Catalogue`), so a page is one
bytes join and one `write`; keep-alive (HTTP/1.1) lets a client reuse its connection. That is
well above the 20 MB/s goal without adding a web framework to a process that has no database.
Each request gets the configured latency and fault injection, and one log line.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.catalogue import Catalogue
from sandbox.config import SandboxConfig
from sandbox.credentials import CredentialsDesk
from sandbox.errors import OcpiError
from sandbox.push import Pusher
from sandbox.routes import Reply, Routes, envelope
from sandbox.simulator import Simulator

logger = logging.getLogger("sandbox")

MAX_BODY = 1_000_000  # no OCPI request body comes near this
_FAULTED_MODULES = {"locations", "tariffs", "sessions", "cdrs", "commands", "tokens"}


class SandboxHandler(BaseHTTPRequestHandler):
    """One request: latency, faults, routing, one log line."""

    protocol_version = "HTTP/1.1"
    sandbox: SandboxCpo  # set on the per-server subclass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is written by _handle instead

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        sandbox = self.sandbox
        config = sandbox.config
        split = urlsplit(self.path)
        parts = [p for p in split.path.split("/") if p]
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        if not 0 <= length <= MAX_BODY:
            # Read (and drop) a moderately large body so the client sees our answer rather than
            # a reset connection; never reuse the connection after it.
            remaining = min(length, 16 * MAX_BODY)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
            self.close_connection = True
            reply: Reply | None = envelope(
                status_code=2000,
                http_status=413 if length > MAX_BODY else 400,
                message=f"Send a Content-Length of at most {MAX_BODY} bytes.",
            )
        else:
            body = self.rfile.read(length) if length else b""
            if config.latency_ms:
                time.sleep(config.latency_ms / 1000)
            reply = sandbox.fault(parts)
        if reply is None:
            try:
                reply = sandbox.routes.handle(
                    method, parts, parse_qs(split.query), self.headers.get("Authorization"), body
                )
            except OcpiError as exc:
                reply = envelope(
                    status_code=exc.status_code,
                    message=exc.message,
                    http_status=exc.http_status,
                    headers=exc.headers,
                )
            except Exception:  # a bug must cost one request, never the server
                logger.exception("%s %s failed", method, self.path)
                reply = envelope(status_code=3000, message="Internal error", http_status=500)
        if reply.drop:
            time.sleep(config.fault_delay)
            self.close_connection = True
            self._log(method, reply, started)
            return
        self.send_response(reply.http_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        for header in ("X-Request-ID", "X-Correlation-ID"):
            if self.headers.get(header):
                self.send_header(header, self.headers[header])
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
        self._log(method, reply, started)

    def _log(self, method: str, reply: Reply, started: float) -> None:
        if self.sandbox.config.log_requests:
            logger.info(
                "%s %s -> %s %s %dB %.1fms%s",
                method,
                self.path,
                reply.http_status,
                reply.ocpi_status,
                len(reply.body),
                (time.perf_counter() - started) * 1000,
                " (dropped)" if reply.drop else "",
            )


class SandboxCpo:
    """A whole sandbox CPO: catalogue, credentials, simulator, pusher and HTTP server.

    `start()` serves in a background thread (tests); `serve_forever()` blocks (the command).
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalogue = Catalogue(config)
        self.desk = CredentialsDesk(config)
        self.pusher = Pusher(timeout=config.push_timeout)
        self.simulator = Simulator(config, self.catalogue, self.desk, self.pusher)
        self.routes = Routes(config, self.catalogue, self.desk, self.simulator)
        self._fault_rng = random.Random(config.seed + 2)  # noqa: S311 - reproducible faults, not security
        self._fault_lock = threading.Lock()
        handler = type("BoundSandboxHandler", (SandboxHandler,), {"sandbox": self})
        self.httpd = ThreadingHTTPServer((config.host, config.port), handler)
        self.httpd.daemon_threads = True
        self.config.port = self.httpd.server_address[1]  # resolves port 0
        self._thread: threading.Thread | None = None

    @property
    def versions_url(self) -> str:
        return self.config.versions_url

    def fault(self, parts: list[str]) -> Reply | None:
        """Fault injection on module requests (never on versions or credentials)."""
        if self.config.fail_rate <= 0 or len(parts) < 3 or parts[2] not in _FAULTED_MODULES:
            return None
        with self._fault_lock:
            if self._fault_rng.random() >= self.config.fail_rate:
                return None
            kind = self._fault_rng.choice(("error", "malformed", "timeout"))
        if kind == "error":
            return envelope(status_code=3000, message="Injected fault", http_status=500)
        if kind == "malformed":
            return Reply(200, b'{"data": [{"id": "LOC', 1000)
        return Reply(0, b"", 0, drop=True)

    def start(self) -> None:
        self.pusher.start()
        self.simulator.start()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.1,), name="sandbox-http", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        self.pusher.start()
        self.simulator.start()
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.simulator.stop()
        self.pusher.stop()
