"""The sandbox CPO's OCPI routes: (method, path, query, token, body) -> Reply.

Routes (all under `/ocpi`; 2.2.1 shown, the paths are the same under the version it speaks,
whose shapes `sandbox.dialects` gives):
    GET  /versions                      versions (token A or C)
    GET  /2.2.1                         version details (token A or C)
    *    /2.2.1/credentials             GET, POST (register), PUT (rotate), DELETE (unregister)
    GET  /2.2.1/locations[/{id}[/{evse_uid}[/{connector_id}]]]   sender, paged list
    GET  /2.2.1/tariffs                 sender, paged list
    GET  /2.2.1/sessions?date_from=...  sender, paged list (date_from required)
    PUT  /2.2.1/sessions/{id}/charging_preferences   always NOT_POSSIBLE
    GET  /2.2.1/cdrs                    sender, paged list
    POST /2.2.1/commands/{command}      receiver
    GET|PUT|PATCH /2.2.1/tokens/{cc}/{party}/{uid}[?type=RFID]   receiver (types of the version)

Paged lists take `offset`, `limit` (capped at `X-Limit`), `date_from` (inclusive) and `date_to`
(exclusive) on `last_updated`, and answer `X-Total-Count`, `X-Limit` and, unless it is the last
page, a `Link: <...>; rel="next"` header that keeps every filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import pydantic

from roaming.ocpi.v221.schemas import (
    ChargingPreferences,
    ChargingPreferencesResponse,
    DateTime,
    Token,
)
from sandbox.catalogue import Catalogue, window_filter
from sandbox.config import SandboxConfig
from sandbox.credentials import CredentialsDesk, Who
from sandbox.errors import OcpiError
from sandbox.push import JSON_OPTIONS
from sandbox.simulator import Simulator

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
    filters: dict[str, str] = field(default_factory=dict)  # as the client wrote them, for Link


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
        self.dialect = catalogue.dialect
        self.version = self.dialect.version

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
            version = self.version
            return envelope([{"version": version, "url": f"{self.config.base_url}/{version}"}])
        if parts == ["ocpi", self.version]:
            self._require(who, ("A", "C"), method, {"GET"})
            return envelope(self.version_details())
        if len(parts) < 3 or parts[1] != self.version or parts[2] not in ALLOWED_METHODS:
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
        base = f"{self.config.base_url}/{self.version}"
        return {"version": self.version, "endpoints": self.dialect.endpoints(MODULES, base)}

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
        filters: dict[str, str] = {
            name: query[name][0] for name in ("date_from", "date_to") if name in query
        }
        return Page(number("offset", 0, 0), limit, moment("date_from"), moment("date_to"), filters)

    def _paged_headers(self, module: str, page: Page, total: int) -> dict[str, str]:
        headers = {"X-Total-Count": str(total), "X-Limit": str(self.config.page_limit)}
        if page.offset + page.limit < total:
            params = dict(page.filters)
            params["offset"] = str(page.offset + page.limit)
            params["limit"] = str(page.limit)
            url = f"{self.config.base_url}/{self.version}/{module}?{urlencode(params)}"
            headers["Link"] = f'<{url}>; rel="next"'
        return headers

    def _paged(
        self,
        module: str,
        items: list[dict[str, Any]],
        page: Page,
        where: Mapping[str, dict[str, Any] | None] | None = None,
    ) -> Reply:
        """A page of `items` (2.2.1 objects of `module`) in our version's shape; `where`
        maps a session's or CDR's id to its location, which 2.1.1 embeds."""
        chosen = window_filter(items, page.date_from, page.date_to)
        kind = module.removesuffix("s")
        shown = [
            self.dialect.outbound(kind, item, (where or {}).get(item["id"]))
            for item in chosen[page.offset : page.offset + page.limit]
        ]
        reply = envelope(shown)
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
        """GET a Location, one of its EVSEs, or one connector of that EVSE."""
        if len(rest) > 3:
            raise OcpiError("Too many path segments.", http_status=404)
        found: dict[str, Any] | None = self.catalogue.locations.get(rest[0])
        missing = "Unknown location {0!r}."
        levels = (
            ("evses", "uid", "Location {0!r} has no EVSE {1!r}."),
            ("connectors", "id", "EVSE {1!r} has no connector {2!r}."),
        )
        for depth, (children, key, message) in enumerate(levels[: len(rest) - 1], start=1):
            if found is None:
                break
            found = next((c for c in found[children] if c[key] == rest[depth]), None)
            missing = message
        if found is None:
            raise OcpiError(missing.format(*rest), status_code=2003, http_status=404)
        kind = ("location", "evse", "connector")[len(rest) - 1]
        with self.catalogue.lock:
            return envelope(self.dialect.outbound(kind, found))

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
            try:
                ChargingPreferences.model_validate(_json(body))
            except pydantic.ValidationError as exc:
                raise OcpiError(f"Invalid ChargingPreferences: {exc.errors()[0]['msg']}") from exc
            # No sandbox EVSE is CHARGING_PREFERENCES_CAPABLE, so no preference can be honoured.
            return envelope(ChargingPreferencesResponse.NOT_POSSIBLE.value)
        if rest:
            raise OcpiError("The sessions sender only serves the list.", http_status=404)
        page = self._page(query)
        if page.date_from is None:
            raise OcpiError("date_from is required for the sessions list.")
        # list() copies the values in one step, safe while the simulator adds sessions.
        sims = list(self.simulator.sessions.values())
        where = {sim.session["id"]: sim.location for sim in sims}
        return self._paged("sessions", [sim.session for sim in sims], page, where)

    def cdrs(self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes) -> Reply:
        if rest:
            raise OcpiError("The CDRs sender only serves the list.", http_status=404)
        cdrs = list(self.simulator.cdrs)
        locations = self.catalogue.locations
        # A CDR put on the list by hand (tests) may be of a location we do not have.
        where = {cdr["id"]: locations.get(cdr["cdr_location"]["id"]) for cdr in cdrs}
        return self._paged("cdrs", cdrs, self._page(query), where)

    # --- receivers -----------------------------------------------------------------------------

    def commands(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if len(rest) != 1:
            raise OcpiError("POST to /commands/{command}.", http_status=404)
        command = self.dialect.inbound("command", _json(body), self.desk.peer_party())
        if isinstance(command, dict) and isinstance(command.get("token"), dict):
            self.dialect.token_type_check(command["token"].get("type"))
        status_code, response = self.simulator.command(rest[0], command)
        message = "Success" if status_code == 1000 else "Unknown location"
        response = self.dialect.outbound("command_response", response)
        return envelope(response, status_code=status_code, message=message)

    def tokens(
        self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Reply:
        if len(rest) != 3:
            raise OcpiError("Use /tokens/{country_code}/{party_id}/{uid}.", http_status=404)
        cc, party, uid = rest
        token_type = query.get("type", ["RFID"])[0]
        self.dialect.token_type_check(token_type)
        key = (cc, party, uid, token_type)
        stored = self.simulator.tokens.get(key)
        if method == "GET":
            if stored is None:
                raise OcpiError(f"Unknown token {uid!r}.", status_code=2004, http_status=404)
            return envelope(self.dialect.outbound("token", stored))
        data = self.dialect.inbound("token", _json(body), {"country_code": cc, "party_id": party})
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
        self.dialect.token_type_check(token.type.value)
        if (token.country_code, token.party_id, token.uid, token.type.value) != key:
            raise OcpiError("The URL and the token's country_code, party_id, uid or type differ.")
        self.simulator.tokens[key] = token.model_dump(mode="json", exclude_none=True)
        return envelope(http_status=200 if stored else 201)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        raise OcpiError(f"The body is not valid JSON ({exc}).", http_status=400) from exc
