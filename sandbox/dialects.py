"""The OCPI version the sandbox CPO speaks (`--ocpi-version`): its objects in that version's
shape, and what an eMSP sends in that version read into the 2.2.1 shape the simulator keeps.

The simulator and the catalogue build 2.2.1 objects; a `Dialect` stands at the wire edges
(routes, pushes, the credentials desk) and turns them into 2.1.1 or 2.3.0 there. It is written
from the spec texts, independently of Plugway's adapters, so a test of one against the other
checks two readings of the spec, not one reading twice.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sandbox.errors import OcpiError

# Module -> the 2.2.1 fields a 2.1.1 object of it does not have.
_NOT_IN_211 = {
    "location": ("country_code", "party_id", "publish", "publish_allowed_to", "parking_type"),
    "tariff": ("country_code", "party_id", "type", "min_price", "max_price"),
    "session": ("country_code", "party_id", "cdr_token", "authorization_reference"),
    "cdr": ("country_code", "party_id", "cdr_token", "authorization_reference", "session_id"),
}
# Price fields a CDR breaks its cost into; 2.1.1 has only the total.
_CDR_COSTS = (
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
# 2.1.1 has a LocationType where 2.2.1 has a ParkingType; these four are in both.
_LOCATION_TYPES = ("ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT")
# A 2.2.1 CommandResult as 2.1.1's CommandResponse: what did not happen was REJECTED.
_RESULTS_211 = {"ACCEPTED": "ACCEPTED", "NOT_SUPPORTED": "NOT_SUPPORTED", "TIMEOUT": "TIMEOUT"}
# The charging period dimensions 2.1.1 has (2.2.1 added power, state of charge and others).
_DIMENSIONS_211 = {"ENERGY", "FLAT", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME", "TIME"}


class Dialect:
    """OCPI 2.2.1, the shape the sandbox keeps: everything passes as it is."""

    version = "2.2.1"
    raw_tokens = False  # 2.1.1 sends tokens as they are, later versions base64
    token_types: tuple[str, ...] = ("AD_HOC_USER", "APP_USER", "OTHER", "RFID")

    def token_type_check(self, token_type: Any) -> None:
        """Refuse (2001) a token type this version does not have, wherever an eMSP names one:
        the `type` of a tokens URL, a Token it pushes, the token of a command."""
        if token_type not in self.token_types:
            raise OcpiError(
                f"Token type {token_type!r} is not one of OCPI {self.version}'s: "
                f"{', '.join(self.token_types)}."
            )

    def auth_header(self, token: str) -> str:
        if self.raw_tokens:
            return f"Token {token}"
        return "Token " + base64.b64encode(token.encode()).decode()

    def request_headers(self, token: str) -> dict[str, str]:
        """What every request the sandbox makes carries: the token, and from 2.2 on a request
        id and a correlation id (one per request: each starts its own exchange)."""
        headers = {"Authorization": self.auth_header(token)}
        if self.version != "2.1.1":
            request_id = uuid.uuid4().hex
            headers.update({"X-Request-ID": request_id, "X-Correlation-ID": request_id})
        return headers

    def endpoints(self, modules: tuple[tuple[str, str], ...], base: str) -> list[dict[str, str]]:
        return [
            {"identifier": module, "role": role, "url": f"{base}/{module}"}
            for module, role in modules
        ]

    def peer_endpoints(self, details: dict[str, Any]) -> dict[str, str]:
        """The eMSP's modules we call: its credentials, receivers and tokens sender (for
        real-time authorization), module -> URL."""
        return {
            e["identifier"]: e["url"]
            for e in details["endpoints"]
            if e["identifier"] in ("credentials", "tokens") or e.get("role") == "RECEIVER"
        }

    def credentials(self, token: str, url: str, party: dict[str, Any]) -> dict[str, Any]:
        return {"token": token, "url": url, "roles": [{"role": "CPO", **party}]}

    def credentials_read(self, body: Any) -> Any:
        return body

    def outbound(
        self, kind: str, item: dict[str, Any], location: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One of our objects (`kind`: location, evse, connector, tariff, session,
        session_patch, cdr, command_response, command_result, token) in this version's shape;
        `location` is where a session or CDR took place (2.1.1 embeds it)."""
        return item

    def inbound(self, kind: str, item: Any, party: dict[str, str]) -> Any:
        """An eMSP's object (`kind`: token, command) in 2.2.1's shape; `party` is the
        eMSP's own country_code and party_id (a 2.1.1 token does not carry them)."""
        return item


class Dialect230(Dialect):
    """OCPI 2.3.0: money as `before_taxes` plus taxes, tariffs say whether taxes are in."""

    version = "2.3.0"
    token_types = (*Dialect.token_types, "EMAID")

    @staticmethod
    def price(price: dict[str, Any]) -> dict[str, Any]:
        taxes = round(price.get("incl_vat", price["excl_vat"]) - price["excl_vat"], 4)
        return {"before_taxes": price["excl_vat"], "taxes": [{"name": "VAT", "amount": taxes}]}

    def tariff(self, tariff: dict[str, Any]) -> dict[str, Any]:
        moved = {**tariff, "tax_included": "NO"}
        for limit in ("min_price", "max_price"):
            if limit in tariff:
                given = tariff[limit]
                moved[limit] = {"before_taxes": given["excl_vat"]}
                if "incl_vat" in given:
                    moved[limit]["after_taxes"] = given["incl_vat"]
        return moved

    def outbound(
        self, kind: str, item: dict[str, Any], location: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if kind == "tariff":
            return self.tariff(item)
        if kind not in ("session", "session_patch", "cdr"):
            return item
        moved = {
            key: self.price(value) if key == "total_cost" or key in _CDR_COSTS else value
            for key, value in item.items()
        }
        if "tariffs" in item:
            moved["tariffs"] = [self.tariff(tariff) for tariff in item["tariffs"]]
        return moved


class Dialect211(Dialect):
    """OCPI 2.1.1: one party per credentials, no owner on objects, `auth_id` for the driver,
    plain-number costs, connectors with `voltage`/`amperage`/`tariff_id`."""

    version = "2.1.1"
    raw_tokens = True
    token_types = ("OTHER", "RFID")  # no app users yet

    def endpoints(self, modules: tuple[tuple[str, str], ...], base: str) -> list[dict[str, str]]:
        return [{"identifier": module, "url": f"{base}/{module}"} for module, _ in modules]

    def peer_endpoints(self, details: dict[str, Any]) -> dict[str, str]:
        return {e["identifier"]: e["url"] for e in details["endpoints"]}

    def credentials(self, token: str, url: str, party: dict[str, Any]) -> dict[str, Any]:
        return {"token": token, "url": url, **party}

    def credentials_read(self, body: Any) -> Any:
        """2.1.1 credentials as 2.2.1's (the one party becomes the one EMSP role)."""
        if not isinstance(body, dict):
            return body
        party = {
            key: body[key]
            for key in ("business_details", "party_id", "country_code")
            if key in body
        }
        return {
            "token": body.get("token"),
            "url": body.get("url"),
            "roles": [{"role": "EMSP", **party}],
        }

    def outbound(
        self, kind: str, item: dict[str, Any], location: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if kind in ("session", "cdr"):
            assert location is not None, "a 2.1.1 session or CDR embeds its location"
            return self.session(item, location) if kind == "session" else self.cdr(item, location)
        convert = {
            "location": self.location,
            "evse": self.evse,
            "connector": self.connector,
            "tariff": self.tariff,
            "session_patch": self.session_patch,
            "command_response": self.command_response,
            "command_result": self.command_response,
            "token": self.token,
        }.get(kind)
        return convert(item) if convert else item

    @staticmethod
    def connector(item: dict[str, Any]) -> dict[str, Any]:
        tariffs = item.get("tariff_ids") or []
        moved = {
            key: value
            for key, value in item.items()
            if key not in ("max_voltage", "max_amperage", "max_electric_power", "tariff_ids")
        }
        moved["voltage"], moved["amperage"] = item["max_voltage"], item["max_amperage"]
        if tariffs:
            moved["tariff_id"] = tariffs[0]
        return moved

    def evse(self, item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "connectors": [self.connector(c) for c in item["connectors"]]}

    def location(self, item: dict[str, Any]) -> dict[str, Any]:
        moved = {k: v for k, v in item.items() if k not in _NOT_IN_211["location"]}
        parking = item.get("parking_type")
        moved["type"] = parking if parking in _LOCATION_TYPES else "UNKNOWN"
        moved["evses"] = [self.evse(evse) for evse in item.get("evses", [])]
        return moved

    def tariff(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in _NOT_IN_211["tariff"]}

    @staticmethod
    def cost(price: dict[str, Any] | None) -> float | None:
        """A 2.2.1 Price as 2.1.1's single number: what the driver pays, VAT included."""
        return None if price is None else price.get("incl_vat", price["excl_vat"])

    def session_patch(self, item: dict[str, Any]) -> dict[str, Any]:
        names = {"start_date_time": "start_datetime", "end_date_time": "end_datetime"}
        moved = {names.get(k, k): v for k, v in item.items() if k not in _NOT_IN_211["session"]}
        if "total_cost" in item:
            moved["total_cost"] = self.cost(item["total_cost"])
        if "auth_method" in item and item["auth_method"] == "COMMAND":
            moved["auth_method"] = "AUTH_REQUEST"  # 2.1.1 has no COMMAND: we asked the eMSP
        if "charging_periods" in item:
            moved["charging_periods"] = self.periods(item["charging_periods"])
        return moved

    @staticmethod
    def periods(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Charging periods with only the dimensions 2.1.1 knows (and only periods left with
        one)."""
        kept = []
        for period in periods:
            dimensions = [d for d in period["dimensions"] if d["type"] in _DIMENSIONS_211]
            if dimensions:
                kept.append({**period, "dimensions": dimensions})
        return kept

    def place(self, location: dict[str, Any], evse_uid: str, connector_id: str) -> dict[str, Any]:
        """The Location a 2.1.1 Session or CDR embeds: with only the EVSE and connector used."""
        evse = next(e for e in location["evses"] if e["uid"] == evse_uid)
        connectors = [c for c in evse["connectors"] if c["id"] == connector_id]
        return self.location({**location, "evses": [{**evse, "connectors": connectors}]})

    def session(self, item: dict[str, Any], location: dict[str, Any]) -> dict[str, Any]:
        moved = self.session_patch(item)
        for key in ("location_id", "evse_uid", "connector_id"):
            moved.pop(key, None)
        moved["auth_id"] = item["cdr_token"]["contract_id"]
        moved["location"] = self.place(location, item["evse_uid"], item["connector_id"])
        return moved

    def cdr(self, item: dict[str, Any], location: dict[str, Any]) -> dict[str, Any]:
        dropped = (*_NOT_IN_211["cdr"], *_CDR_COSTS, "cdr_location", "end_date_time", "tariffs")
        moved = {k: v for k, v in item.items() if k not in dropped}
        where = item["cdr_location"]
        moved.update(
            stop_date_time=item["end_date_time"],
            auth_id=item["cdr_token"]["contract_id"],
            auth_method="AUTH_REQUEST" if item["auth_method"] == "COMMAND" else item["auth_method"],
            location=self.place(location, where["evse_uid"], where["connector_id"]),
            tariffs=[self.tariff(tariff) for tariff in item.get("tariffs", [])],
            charging_periods=self.periods(item["charging_periods"]),
            total_cost=self.cost(item["total_cost"]),
        )
        return moved

    @staticmethod
    def command_response(item: dict[str, Any]) -> dict[str, Any]:
        moved = {k: v for k, v in item.items() if k != "timeout"}
        moved["result"] = _RESULTS_211.get(item["result"], "REJECTED")
        return moved

    def inbound(self, kind: str, item: Any, party: dict[str, str]) -> Any:
        if not isinstance(item, dict):
            return item
        if kind == "token":
            return self.token_read(item, party)
        if isinstance(item.get("token"), dict):  # START_SESSION, RESERVE_NOW
            return {**item, "token": self.token_read(item["token"], party)}
        return item

    @staticmethod
    def token(item: dict[str, Any]) -> dict[str, Any]:
        """A token the eMSP gave us, as 2.1.1 has it (its contract id is its auth_id)."""
        moved = {k: v for k, v in item.items() if k not in ("country_code", "party_id")}
        moved["auth_id"] = moved.pop("contract_id")
        return moved

    @staticmethod
    def token_read(token: dict[str, Any], party: dict[str, str]) -> dict[str, Any]:
        moved = {k: v for k, v in token.items() if k != "auth_id"}
        moved.update(party)
        if "auth_id" in token:
            moved["contract_id"] = token["auth_id"]
        return moved


DIALECTS = {dialect.version: dialect for dialect in (Dialect211(), Dialect(), Dialect230())}
VERSIONS = tuple(DIALECTS)
