"""Charging simulation: commands, sessions, CDRs, reservations and status churn.

A command is answered at once (`CommandResponse`) and its `CommandResult` is POSTed to the
eMSP's `response_url` `command_delay` seconds later. An accepted START_SESSION then opens a
Session: PUT (ACTIVE), a PATCH every `push_interval` with kWh, the new charging period and the
running cost, the EVSE PATCHed to CHARGING; on STOP_SESSION, or when the simulated car is full,
a COMPLETED PATCH, the EVSE back to AVAILABLE, and a CDR POSTed with totals priced from the
connector's tariff (`pricing.price_session`).

One thread (`run`) drives everything on a small timer heap, so no state is touched by two
simulation steps at once; HTTP handler threads only validate and schedule.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic

from roaming.ocpi.v221.schemas import COMMAND_BODIES, CommandType
from sandbox.catalogue import Catalogue
from sandbox.charge import SimSession, now_utc
from sandbox.config import SandboxConfig
from sandbox.credentials import CredentialsDesk
from sandbox.errors import OcpiError
from sandbox.pricing import MeterSegment
from sandbox.push import Pusher

# Pushes whose body is an object the version shapes: (module, method) -> dialect kind.
_PUSHED_KINDS = {
    ("sessions", "PUT"): "session",
    ("sessions", "PATCH"): "session_patch",
    ("cdrs", "POST"): "cdr",
}

logger = logging.getLogger("sandbox.simulator")

_OCCUPIED = {"CHARGING", "BLOCKED", "RESERVED"}
_BROKEN = {"OUTOFORDER", "INOPERATIVE", "UNKNOWN", "PLANNED", "REMOVED"}
# Status churn moves EVSEs mostly between free and busy, now and then through a fault.
_CHURN_STATUSES = ("AVAILABLE", "CHARGING", "OUTOFORDER", "INOPERATIVE")
_CHURN_WEIGHTS = (0.55, 0.35, 0.05, 0.05)


def _message(text: str) -> list[dict[str, str]]:
    return [{"language": "en", "text": text}]


class UnknownLocationError(OcpiError):
    """A command names a location this CPO does not have."""


class CommandRefusedError(Exception):
    """A command this CPO refuses in its CommandResponse (`result`, with `text` as the message)."""

    def __init__(self, result: str, text: str) -> None:
        super().__init__(text)
        self.result, self.text = result, text


class Simulator:
    """Sessions, commands and churn; pushes go through `pusher` to the registered eMSP."""

    def __init__(
        self,
        config: SandboxConfig,
        catalogue: Catalogue,
        desk: CredentialsDesk,
        pusher: Pusher,
    ) -> None:
        self.config = config
        self.catalogue = catalogue
        self.desk = desk
        self.pusher = pusher
        self.sessions: dict[str, SimSession] = {}
        self.cdrs: list[dict[str, Any]] = []
        self.tokens: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.reservations: dict[str, dict[str, Any]] = {}
        self.rng = random.Random(config.seed + 1)  # noqa: S311 - a simulation
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self.run, name="sandbox-simulator", daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def later(self, delay: float, action: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._counter), action))
        self._wake.set()

    def run(self) -> None:
        next_churn = next_refresh = time.monotonic()
        refresh_order = itertools.cycle(list(self.catalogue.evses))
        while not self._stopped.is_set():
            now = time.monotonic()
            due: list[Callable[[], None]] = []
            with self._lock:
                while self._timers and self._timers[0][0] <= now:
                    due.append(heapq.heappop(self._timers)[2])
                wait = self._timers[0][0] - now if self._timers else 0.5
            for action in due:
                try:
                    action()
                except Exception:  # one bad step must not stop the simulation
                    logger.exception("simulation step failed")
            if self.config.status_churn > 0:
                if now >= next_churn:
                    self._churn_one()
                    next_churn = now + 1 / self.config.status_churn
                wait = min(wait, max(0.0, next_churn - time.monotonic()))
            if self.config.status_refresh > 0 and self.catalogue.evses:
                if now >= next_refresh:
                    uid = next(refresh_order)
                    self.evse_status_push(uid, self.catalogue.evses[uid][1]["status"])
                    next_refresh = now + self.config.status_refresh / len(self.catalogue.evses)
                wait = min(wait, max(0.0, next_refresh - time.monotonic()))
            self._wake.wait(timeout=max(0.0, min(wait, 0.5)))
            self._wake.clear()

    # --- pushes --------------------------------------------------------------------------------

    def _push(
        self,
        module: str,
        method: str,
        path: str,
        body: Any,
        location: dict[str, Any] | None = None,
    ) -> None:
        registration = self.desk.registration
        if registration is None:
            return
        base = registration.endpoints.get(module)
        if base is None:
            return  # the eMSP did not offer this receiver: nothing to push to
        url = base.rstrip("/") + path
        kind = _PUSHED_KINDS.get((module, method))
        if kind is not None:
            body = self.catalogue.dialect.outbound(kind, body, location)
        self.pusher.push(method, url, body, registration.push_headers(self.config))

    def _push_result(self, response_url: str, result: str, text: str = "") -> None:
        registration = self.desk.registration
        if registration is None:
            return
        body: dict[str, Any] = {"result": result}
        if text:
            body["message"] = _message(text)
        body = self.catalogue.dialect.outbound("command_result", body)
        self.pusher.push("POST", response_url, body, registration.push_headers(self.config))

    def evse_status_push(self, evse_uid: str, status: str) -> None:
        """Set an EVSE's status, dated now, and PATCH it to the eMSP (churn, refresh, sessions,
        reservations; tests call it to play a status change)."""
        location, evse = self.catalogue.evses[evse_uid]
        patch = self.catalogue.evse_status_set(evse_uid, status, now_utc())
        cc, party = location["country_code"], location["party_id"]
        self._push("locations", "PATCH", f"/{cc}/{party}/{location['id']}/{evse['uid']}", patch)

    def _churn_one(self) -> None:
        busy = {s.evse["uid"] for s in self.sessions.values() if s.active}
        reserved = {r["evse_uid"] for r in self.reservations.values()}
        uids = self.catalogue.order  # pick a location, then one of its EVSEs
        location = self.catalogue.locations[self.rng.choice(uids)]
        evse = self.rng.choice(location["evses"])
        if evse["uid"] in busy or evse["uid"] in reserved:
            return
        status = self.rng.choices(_CHURN_STATUSES, weights=_CHURN_WEIGHTS)[0]
        if status != evse["status"]:
            self.evse_status_push(evse["uid"], status)

    # --- tokens receiver -----------------------------------------------------------------------

    def token_stored(self, token: dict[str, Any]) -> dict[str, Any] | None:
        key = (token["country_code"], token["party_id"], token["uid"], token.get("type", "RFID"))
        return self.tokens.get(key)

    def charger_start(
        self, evse_uid: str, token_uid: str, token_type: str | None = None
    ) -> dict[str, Any]:
        """A driver presents a token at the charger. As a CPO does for a token it may not
        start on its own say (the eMSP's are `whitelist: NEVER`), ask the eMSP in real time:
        POST its tokens sender's `{uid}/authorize[?type=]` (no type: RFID, the spec's default)
        with the location and EVSE; open a Session (AUTH_REQUEST) only on ALLOWED. Returns
        the eMSP's answer, its whole envelope (`data` in this version's shape)."""
        registration = self.desk.registration
        if registration is None or "tokens" not in registration.endpoints:
            raise OcpiError("No eMSP with a tokens sender is registered.", status_code=3001)
        location, evse = self.catalogue.evses[evse_uid]
        references = {"location_id": location["id"], "evse_uids": [evse_uid]}
        answer = registration.authorization_ask(self.config, token_uid, token_type, references)
        info = answer.get("data") if answer.get("status_code") == 1000 else None
        if not isinstance(info, dict) or info.get("allowed") != "ALLOWED":
            return answer
        party = self.desk.peer_party()
        # The Session names the token as the eMSP pushed it (2.1.1's answer echoes none).
        key = (party["country_code"], party["party_id"], token_uid, token_type or "RFID")
        token = self.tokens.get(key)
        if token is None:
            raise OcpiError(f"The eMSP allowed token {token_uid!r} but never sent it to us.")
        self.later(
            0,
            lambda: self._session_open(
                location,
                evse,
                evse["connectors"][0],
                token,
                auth_method="AUTH_REQUEST",
                authorization_reference=info.get("authorization_reference"),
            ),
        )
        return answer

    # --- commands ------------------------------------------------------------------------------

    def command(self, name: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Validate a command and schedule its result: (OCPI status code, CommandResponse).

        An unknown location is REJECTED with status code 2003 (unknown location); every other
        refusal is a CommandResponse with status code 1000, as the spec's examples show.
        """
        try:
            kind = CommandType(name)
        except ValueError:
            return 1000, self._response("NOT_SUPPORTED", f"Unknown command {name!r}.")
        try:
            parsed = COMMAND_BODIES[kind].model_validate(body)
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise OcpiError(f"Invalid {kind.value} body: {where}: {error['msg']}") from exc
        data = parsed.model_dump(mode="json", exclude_none=True)
        handler = {
            CommandType.START_SESSION: self._start_session,
            CommandType.STOP_SESSION: self._stop_session,
            CommandType.RESERVE_NOW: self._reserve_now,
            CommandType.CANCEL_RESERVATION: self._cancel_reservation,
            CommandType.UNLOCK_CONNECTOR: self._unlock_connector,
        }[kind]
        try:
            return 1000, handler(data)
        except UnknownLocationError as exc:
            return 2003, self._response("REJECTED", exc.message)
        except CommandRefusedError as refused:
            return 1000, self._response(refused.result, refused.text)

    def _response(self, result: str, text: str = "") -> dict[str, Any]:
        reply: dict[str, Any] = {"result": result, "timeout": self.config.command_timeout}
        if text:
            reply["message"] = _message(text)
        return reply

    def _evse_for(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The command's location and EVSE (without an EVSE: a free one, else the first)."""
        location_id, evse_uid = data["location_id"], data.get("evse_uid")
        location = self.catalogue.locations.get(location_id)
        if location is None:
            raise UnknownLocationError(f"Unknown location {location_id!r}.", status_code=2003)
        if evse_uid is None:
            free = [e for e in location["evses"] if e["status"] == "AVAILABLE"]
            return location, (free or location["evses"])[0]
        evse = next((e for e in location["evses"] if e["uid"] == evse_uid), None)
        if evse is None:
            raise CommandRefusedError("REJECTED", f"Unknown EVSE {evse_uid!r} here.")
        return location, evse

    @staticmethod
    def _evse_able(evse: dict[str, Any], capability: str, cannot: str) -> None:
        if capability not in evse.get("capabilities", []):
            raise CommandRefusedError("NOT_SUPPORTED", f"This EVSE cannot {cannot}.")

    def _token_check(self, token: dict[str, Any]) -> None:
        stored = self.token_stored(token)
        if not token.get("valid", False) or (stored is not None and not stored.get("valid")):
            raise CommandRefusedError("REJECTED", f"Token {token['uid']} is not valid.")

    def _start_session(self, data: dict[str, Any]) -> dict[str, Any]:
        location, evse = self._evse_for(data)
        self._evse_able(evse, "REMOTE_START_STOP_CAPABLE", "be started remotely")
        connector_id = data.get("connector_id") or evse["connectors"][0]["id"]
        connector = next((c for c in evse["connectors"] if c["id"] == connector_id), None)
        if connector is None:
            return self._response("REJECTED", f"Unknown connector {connector_id!r}.")
        self._token_check(data["token"])
        self.later(
            self.config.command_delay,
            lambda: self._start_result(data, location, evse, connector),
        )
        return self._response("ACCEPTED")

    def _start_result(
        self,
        data: dict[str, Any],
        location: dict[str, Any],
        evse: dict[str, Any],
        connector: dict[str, Any],
    ) -> None:
        token = data["token"]
        reservation = next(
            (r for r in self.reservations.values() if r["evse_uid"] == evse["uid"]), None
        )
        mine = reservation is not None and reservation["token_uid"] == token["uid"]
        if evse["status"] in _BROKEN:
            self._push_result(data["response_url"], "EVSE_INOPERATIVE", "EVSE is out of order.")
            return
        if evse["status"] in _OCCUPIED and not (evse["status"] == "RESERVED" and mine):
            self._push_result(data["response_url"], "EVSE_OCCUPIED", "EVSE is in use.")
            return
        if mine and reservation is not None:
            self.reservations.pop(reservation["id"], None)
        self._push_result(data["response_url"], "ACCEPTED")
        self._session_open(
            location,
            evse,
            connector,
            token,
            auth_method="COMMAND",
            authorization_reference=data.get("authorization_reference"),
        )

    def _session_open(
        self,
        location: dict[str, Any],
        evse: dict[str, Any],
        connector: dict[str, Any],
        token: dict[str, Any],
        *,
        auth_method: str,
        authorization_reference: str | None,
    ) -> None:
        """Start charging for `token` (2.2.1's shape): PUT the Session, the EVSE CHARGING."""
        started = now_utc()
        tariff_id = (connector.get("tariff_ids") or ["AC-ENERGY"])[0]
        session = {
            "country_code": self.config.country_code,
            "party_id": self.config.party_id,
            "id": uuid.uuid4().hex[:20].upper(),
            "start_date_time": started,
            "kwh": 0.0,
            "cdr_token": {
                key: token[key]
                for key in ("country_code", "party_id", "uid", "type", "contract_id")
            },
            "auth_method": auth_method,
            "location_id": location["id"],
            "evse_uid": evse["uid"],
            "connector_id": connector["id"],
            "currency": "EUR",
            "charging_periods": [],
            "total_cost": {"excl_vat": 0.0, "incl_vat": 0.0},
            "status": "ACTIVE",
            "last_updated": started,
        }
        if authorization_reference:
            session["authorization_reference"] = authorization_reference
        dc = connector["power_type"] == "DC"
        sim = SimSession(
            session=session,
            location=location,
            evse=evse,
            connector=connector,
            tariff=self.catalogue.tariffs[tariff_id],
            target_kwh=self.config.vehicle_kwh or round(self.rng.uniform(8, 60), 1),
            car_kw=self.rng.choice((120.0, 150.0, 250.0)) if dc else self.rng.choice((7.4, 11.0)),
            last_at=started,
        )
        self.sessions[session["id"]] = sim
        cc, party = session["country_code"], session["party_id"]
        self._push("sessions", "PUT", f"/{cc}/{party}/{session['id']}", session, location)
        self.evse_status_push(evse["uid"], "CHARGING")
        self._schedule_tick(sim)

    def _schedule_tick(self, sim: SimSession) -> None:
        delay = self.config.push_interval
        power = sim.power_kw()
        if power > 0:
            hours_to_full = (sim.target_kwh - sim.kwh) / power
            delay = min(delay, max(0.05, hours_to_full * 3600))
        self.later(delay, lambda: self._tick(sim))

    def _tick(self, sim: SimSession) -> None:
        if not sim.active:
            return
        sim.advance(now_utc())
        if sim.kwh >= sim.target_kwh:
            self._complete(sim, ended=sim.last_at)
            return
        patch, _ = sim.progress()
        cc, party, sid = sim.session["country_code"], sim.session["party_id"], sim.session["id"]
        self._push("sessions", "PATCH", f"/{cc}/{party}/{sid}", patch)
        self._schedule_tick(sim)

    def _complete(self, sim: SimSession, *, ended: datetime) -> None:
        sim.advance(ended)
        if not sim.segments:  # stopped within the same second it started
            sim.segments.append(MeterSegment(sim.last_at, sim.last_at + timedelta(seconds=1), 0.0))
            sim.last_at += timedelta(seconds=1)
        sim.session["end_date_time"] = sim.last_at
        sim.session["status"] = "COMPLETED"
        patch, priced = sim.progress()
        patch["status"] = "COMPLETED"
        patch["end_date_time"] = sim.session["end_date_time"]
        cc, party, sid = sim.session["country_code"], sim.session["party_id"], sim.session["id"]
        self._push("sessions", "PATCH", f"/{cc}/{party}/{sid}", patch)
        self.evse_status_push(sim.evse["uid"], "AVAILABLE")
        cdr = sim.cdr(priced)
        self.cdrs.append(cdr)
        self._push("cdrs", "POST", "", cdr, sim.location)

    def _stop_session(self, data: dict[str, Any]) -> dict[str, Any]:
        sim = self.sessions.get(data["session_id"])
        if sim is None or not sim.active:
            return self._response("UNKNOWN_SESSION", f"No active session {data['session_id']!r}.")

        def result() -> None:
            if not sim.active:
                self._push_result(data["response_url"], "FAILED", "Session already ended.")
                return
            self._push_result(data["response_url"], "ACCEPTED")
            self._complete(sim, ended=now_utc())

        self.later(self.config.command_delay, result)
        return self._response("ACCEPTED")

    def _reserve_now(self, data: dict[str, Any]) -> dict[str, Any]:
        _location, evse = self._evse_for(data)
        self._evse_able(evse, "RESERVABLE", "be reserved")
        self._token_check(data["token"])

        def result() -> None:
            if evse["status"] in _BROKEN:
                self._push_result(data["response_url"], "EVSE_INOPERATIVE")
                return
            if evse["status"] != "AVAILABLE":
                self._push_result(data["response_url"], "EVSE_OCCUPIED")
                return
            reservation_id = data["reservation_id"]
            self.reservations[reservation_id] = {
                "id": reservation_id,
                "evse_uid": evse["uid"],
                "token_uid": data["token"]["uid"],
            }
            self._push_result(data["response_url"], "ACCEPTED")
            self.evse_status_push(evse["uid"], "RESERVED")
            expiry = datetime.fromisoformat(data["expiry_date"].replace("Z", "+00:00"))
            seconds = max(0.0, (expiry - datetime.now(UTC)).total_seconds())
            self.later(seconds, lambda: self._expire(reservation_id))

        self.later(self.config.command_delay, result)
        return self._response("ACCEPTED")

    def _expire(self, reservation_id: str) -> None:
        reservation = self.reservations.pop(reservation_id, None)
        if reservation is not None:
            self.evse_status_push(reservation["evse_uid"], "AVAILABLE")

    def _cancel_reservation(self, data: dict[str, Any]) -> dict[str, Any]:
        def result() -> None:
            if data["reservation_id"] not in self.reservations:
                self._push_result(data["response_url"], "UNKNOWN_RESERVATION")
                return
            self._push_result(data["response_url"], "ACCEPTED")
            self._expire(data["reservation_id"])

        self.later(self.config.command_delay, result)
        return self._response("ACCEPTED")

    def _unlock_connector(self, data: dict[str, Any]) -> dict[str, Any]:
        _, evse = self._evse_for(data)
        if not any(c["id"] == data["connector_id"] for c in evse["connectors"]):
            return self._response("REJECTED", f"Unknown connector {data['connector_id']!r}.")
        self._evse_able(evse, "UNLOCK_CAPABLE", "unlock its connector")
        self.later(
            self.config.command_delay, lambda: self._push_result(data["response_url"], "ACCEPTED")
        )
        return self._response("ACCEPTED")
