"""The sandbox CPO's HTTP side: OCPI 2.2.1 routes on a threading stdlib HTTP server.

Routes (all under `/ocpi`):
    GET  /versions                      versions (token A or C)
    GET  /2.2.1                         version details (token A or C)
    *    /2.2.1/credentials             GET, POST (register), PUT (rotate), DELETE (unregister)
    GET  /2.2.1/locations[/{id}[/{evse_uid}[/{connector_id}]]]   sender, paged list
    GET  /2.2.1/tariffs                 sender, paged list
    GET  /2.2.1/sessions?date_from=...  sender, paged list (date_from required)
    PUT  /2.2.1/sessions/{id}/charging_preferences   always NOT_POSSIBLE
    GET  /2.2.1/cdrs                    sender, paged list
    POST /2.2.1/commands/{command}      receiver
    GET|PUT|PATCH /2.2.1/tokens/{cc}/{party}/{uid}[?type=RFID]   receiver

Paged lists take `offset`, `limit` (capped at `X-Limit`), `date_from` (inclusive) and `date_to`
(exclusive) on `last_updated`, and answer `X-Total-Count`, `X-Limit` and, unless it is the last
page, a `Link: <...>; rel="next"` header that keeps every filter.

Why the stdlib server: every location is pre-serialised (see `Catalogue`), so a page is one
bytes join and one `write`; keep-alive (HTTP/1.1) lets a client reuse its connection. That is
well above the 20 MB/s goal without adding a web framework to a process that has no database.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import pydantic

from roaming.ocpi.v221.schemas import DateTime, Token
from roaming.sandbox.catalogue import Catalogue, window_filter
from roaming.sandbox.config import SandboxConfig
from roaming.sandbox.credentials import CredentialsDesk, Who
from roaming.sandbox.errors import OcpiError
from roaming.sandbox.push import JSON_OPTIONS, Pusher
from roaming.sandbox.simulator import Simulator, now_utc

logger = logging.getLogger("roaming.sandbox")

VERSION = "2.2.1"
MODULES = (  # (module id, our interface role)
    ("credentials", "SENDER"),
    ("locations", "SENDER"),
    ("tariffs", "SENDER"),
    ("sessions", "SENDER"),
    ("cdrs", "SENDER"),
    ("commands", "RECEIVER"),
    ("tokens", "RECEIVER"),
)
ALLOWED_METHODS = {
    "credentials": {"GET", "POST", "PUT", "DELETE"},
    "locations": {"GET"},
    "tariffs": {"GET"},
    "sessions": {"GET", "PUT"},
    "cdrs": {"GET"},
    "commands": {"POST"},
    "tokens": {"GET", "PUT", "PATCH"},
}
_DATETIME = pydantic.TypeAdapter(DateTime)


@dataclass
class Reply:
    http_status: int
    body: bytes
    ocpi_status: int = 1000
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # fault injection: hold the request, then close without answering


def _timestamp() -> bytes:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()


def envelope(
    data: Any = None,
    *,
    status_code: int = 1000,
    message: str = "Success",
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Reply:
    body: dict[str, Any] = {"status_code": status_code, "status_message": message}
    if data is not None:
        body = {"data": data, **body}
    body["timestamp"] = datetime.now(UTC).replace(microsecond=0)
    return Reply(http_status, orjson.dumps(body, option=JSON_OPTIONS), status_code, headers or {})


def _raw_list_envelope(items: list[bytes]) -> bytes:
    return b"".join(
        (
            b'{"data":[',
            b",".join(items),
            b'],"status_code":1000,"status_message":"Success","timestamp":"',
            _timestamp(),
            b'"}',
        )
    )


@dataclass
class Page:
    offset: int
    limit: int
    date_from: datetime | None
    date_to: datetime | None


class Routes:
    """Turns (method, path parts, query, body) into a Reply; no HTTP plumbing here."""

    def __init__(
        self,
        config: SandboxConfig,
        catalogue: Catalogue,
        desk: CredentialsDesk,
        simulator: Simulator,
    ) -> None:
        self.config = config
        self.catalogue = catalogue
        self.desk = desk
        self.simulator = simulator

    def handle(
        self,
        method: str,
        parts: list[str],
        query: dict[str, list[str]],
        auth: str | None,
        body: bytes,
    ) -> Reply:
        if parts[:1] != ["ocpi"]:
            raise OcpiError("Not an OCPI path: try /ocpi/versions.", http_status=404)
        who = self.desk.who(auth)
        if parts == ["ocpi", "versions"]:
            self._require(who, ("A", "C"), method, {"GET"})
            return envelope([{"version": VERSION, "url": f"{self.config.base_url}/{VERSION}"}])
        if parts == ["ocpi", VERSION]:
            self._require(who, ("A", "C"), method, {"GET"})
            return envelope(self.version_details())
        if len(parts) < 3 or parts[1] != VERSION or parts[2] not in ALLOWED_METHODS:
            raise OcpiError(f"No such OCPI endpoint: /{'/'.join(parts)}.", http_status=404)
        module, rest = parts[2], parts[3:]
        if module == "credentials":
            self._require(who, ("A", "C"), method, ALLOWED_METHODS[module])
            return self.credentials(method, who, body)
        self._require(who, ("C",), method, ALLOWED_METHODS[module])
        handler = getattr(self, module)
        reply: Reply = handler(method, rest, query, body)
        return reply

    def _require(
        self, who: Who | None, allowed: tuple[Who, ...], method: str, methods: set[str]
    ) -> None:
        if who not in allowed:
            if who == "A":
                message = "Token A only opens versions and credentials: register first."
            elif self.desk.registration is not None:
                message = "Unknown token (token A stops working once a party has registered)."
            else:
                message = "Unknown or missing token: send 'Authorization: Token <base64 token>'."
            raise OcpiError(message, status_code=2000, http_status=401)
        if method not in methods:
            raise OcpiError(
                f"{method} is not allowed here.",
                status_code=2000,
                http_status=405,
                headers={"Allow": ", ".join(sorted(methods))},
            )

    def version_details(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "endpoints": [
                {
                    "identifier": module,
                    "role": role,
                    "url": f"{self.config.base_url}/{VERSION}/{module}",
                }
                for module, role in MODULES
            ],
        }

    # --- credentials ---------------------------------------------------------------------------

    def credentials(self, method: str, who: Who | None, body: bytes) -> Reply:
        if method == "GET":
            registration = self.desk.registration
            token = registration.token_c if who == "C" and registration else self.config.token_a
            return envelope(self.desk.our_credentials(token))
        if method == "DELETE":
            self.desk.unregister(who=who)
            return envelope(message="Unregistered: token C no longer works.")
        return envelope(self.desk.register(_json(body), who=who, method=method))

    # --- senders -------------------------------------------------------------------------------

    def _page(self, query: dict[str, list[str]]) -> Page:
        def number(name: str, default: int, low: int) -> int:
            text = query.get(name, [None])[0]
            if text is None:
                return default
            try:
                value = int(text)
            except ValueError as exc:
                raise OcpiError(f"{name} must be a whole number, not {text!r}.") from exc
            if value < low:
                raise OcpiError(f"{name} must be at least {low}.")
            return value

        def moment(name: str) -> datetime | None:
            text = query.get(name, [None])[0]
            if text is None:
                return None
            try:
                return _DATETIME.validate_python(text)
            except pydantic.ValidationError as exc:
                raise OcpiError(
                    f"{name} must be an OCPI DateTime such as 2026-01-01T00:00:00Z, not {text!r}."
                ) from exc

        limit = min(number("limit", self.config.page_limit, 1), self.config.page_limit)
        return Page(number("offset", 0, 0), limit, moment("date_from"), moment("date_to"))

    def _paged_headers(self, module: str, page: Page, total: int) -> dict[str, str]:
        headers = {"X-Total-Count": str(total), "X-Limit": str(self.config.page_limit)}
        if page.offset + page.limit < total:
            params: dict[str, str] = {}
            for name, value in (("date_from", page.date_from), ("date_to", page.date_to)):
                if value is not None:
                    params[name] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
            params["offset"] = str(page.offset + page.limit)
            params["limit"] = str(page.limit)
            url = f"{self.config.base_url}/{VERSION}/{module}?{urlencode(params)}"
            headers["Link"] = f'<{url}>; rel="next"'
        return headers

    def _paged(self, module: str, items: list[dict[str, Any]], page: Page) -> Reply:
        chosen = window_filter(items, page.date_from, page.date_to)
        reply = envelope(chosen[page.offset : page.offset + page.limit])
        reply.headers = self._paged_headers(module, page, len(chosen))
        return reply

    def locations(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if rest:
            return self._location_object(rest)
        page = self._page(query)
        catalogue = self.catalogue
        with catalogue.lock:
            ids = catalogue.location_ids(page.date_from, page.date_to)
            chunk = [
                catalogue.location_bytes(i) for i in ids[page.offset : page.offset + page.limit]
            ]
        reply = Reply(200, _raw_list_envelope(chunk))
        reply.headers = self._paged_headers("locations", page, len(ids))
        return reply

    def _location_object(self, rest: list[str]) -> Reply:
        if len(rest) > 3:
            raise OcpiError("Too many path segments.", http_status=404)
        location = self.catalogue.locations.get(rest[0])
        if location is None:
            raise OcpiError(f"Unknown location {rest[0]!r}.", status_code=2003, http_status=404)
        found: dict[str, Any] = location
        if len(rest) >= 2:
            evse = next((e for e in location["evses"] if e["uid"] == rest[1]), None)
            if evse is None:
                raise OcpiError(
                    f"Location {rest[0]!r} has no EVSE {rest[1]!r}.",
                    status_code=2003,
                    http_status=404,
                )
            found = evse
        if len(rest) == 3:
            connector = next((c for c in found["connectors"] if c["id"] == rest[2]), None)
            if connector is None:
                raise OcpiError(
                    f"EVSE {rest[1]!r} has no connector {rest[2]!r}.",
                    status_code=2003,
                    http_status=404,
                )
            found = connector
        with self.catalogue.lock:
            return envelope(found)

    def tariffs(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if rest:
            raise OcpiError("The tariffs sender only serves the list.", http_status=404)
        return self._paged("tariffs", list(self.catalogue.tariffs.values()), self._page(query))

    def sessions(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if method == "PUT":
            if len(rest) != 2 or rest[1] != "charging_preferences":
                raise OcpiError("PUT only on /sessions/{id}/charging_preferences.", http_status=404)
            if rest[0] not in self.simulator.sessions:
                raise OcpiError(f"Unknown session {rest[0]!r}.", http_status=404)
            _json(body)
            return envelope("NOT_POSSIBLE")
        if rest:
            raise OcpiError("The sessions sender only serves the list.", http_status=404)
        page = self._page(query)
        if page.date_from is None:
            raise OcpiError("date_from is required for the sessions list.")
        items = [s.session for s in self.simulator.sessions.values()]
        return self._paged("sessions", items, page)

    def cdrs(self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes) -> Reply:
        if rest:
            raise OcpiError("The CDRs sender only serves the list.", http_status=404)
        return self._paged("cdrs", list(self.simulator.cdrs), self._page(query))

    # --- receivers -----------------------------------------------------------------------------

    def commands(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if len(rest) != 1:
            raise OcpiError("POST to /commands/{command}.", http_status=404)
        status_code, response = self.simulator.command(rest[0], _json(body))
        message = "Success" if status_code == 1000 else "Unknown location"
        return envelope(response, status_code=status_code, message=message)

    def tokens(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if len(rest) != 3:
            raise OcpiError("Use /tokens/{country_code}/{party_id}/{uid}.", http_status=404)
        cc, party, uid = rest
        token_type = query.get("type", ["RFID"])[0]
        key = (cc, party, uid, token_type)
        stored = self.simulator.tokens.get(key)
        if method == "GET":
            if stored is None:
                raise OcpiError(f"Unknown token {uid!r}.", status_code=2004, http_status=404)
            return envelope(stored)
        data = _json(body)
        if not isinstance(data, dict):
            raise OcpiError("The body must be a JSON object.")
        if method == "PATCH":
            if stored is None:
                raise OcpiError(
                    f"Unknown token {uid!r}: PUT it first.", status_code=2004, http_status=404
                )
            if "last_updated" not in data:
                raise OcpiError("A PATCH must include last_updated.")
            data = {**stored, **data}
        try:
            token = Token.model_validate(data)
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            raise OcpiError(
                f"Invalid token: {'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            ) from exc
        if (token.country_code, token.party_id, token.uid, token.type.value) != key:
            raise OcpiError("The URL and the token's country_code, party_id, uid or type differ.")
        self.simulator.tokens[key] = token.model_dump(mode="json", exclude_none=True)
        return envelope(http_status=200 if stored else 201)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        raise OcpiError(f"The body is not valid JSON ({exc}).", http_status=400) from exc


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
        length = int(self.headers.get("Content-Length") or 0)
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


__all__ = ["SandboxConfig", "SandboxCpo", "now_utc"]
