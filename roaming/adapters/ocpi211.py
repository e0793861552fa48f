"""The OCPI 2.1.1 adapter: what a 2.1.1 partner sends is validated against the 2.1.1 schemas
(`roaming.ocpi.v211.schemas`), moved into 2.2.1's shape (`roaming.ocpi.v211.translate`) and read
by the 2.2.1 adapter it extends; what we serve or send is rendered as 2.2.1 and moved back.

2.1.1 sends credentials tokens as they are (no base64). Commands: a 2.1.1 CommandResponse
gives no timeout, so we wait `RESULT_WAIT` for the result; the result is a CommandResponse too.
Our tokens are given with their uid as `auth_id`, so the `auth_id` of a Session or CDR names
the token it was charged to, and as type OTHER (2.1.1 has no APP_USER).
"""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from locator.catalogue import ConnectorRecord, EvseRecord, LocationRecord, Patch, TariffRecord
from roaming.adapters.base import (
    ChargeRecord,
    CommandOutcome,
    CommandReply,
    PartnerCredentials,
    PartyRole,
    PulledPage,
    SessionChange,
    SessionReport,
)
from roaming.adapters.ocpi221 import Ocpi221Adapter
from roaming.errors import PartnerError
from roaming.models import DriverToken
from roaming.ocpi.transport import OcpiStatus, ocpi_timestamp
from roaming.ocpi.v211 import schemas as v211
from roaming.ocpi.v211 import translate
from roaming.ocpi.v221 import cdrs, sessions, tokens
from roaming.ocpi.v221.commands import display_text
from roaming.ocpi.v221.reading import validated, wire_parse
from roaming.ocpi.v221.schemas import WhitelistType
from roaming.ocpi.versions import our_roles, our_versions_url

# How long we wait for a command's result, which 2.1.1 does not announce.
RESULT_WAIT = timedelta(seconds=60)
OUTCOMES = {
    "ACCEPTED": CommandOutcome.ACCEPTED,
    "REJECTED": CommandOutcome.REFUSED,
    "NOT_SUPPORTED": CommandOutcome.NOT_SUPPORTED,
    "TIMEOUT": CommandOutcome.TIMEOUT,
    "UNKNOWN_SESSION": CommandOutcome.UNKNOWN_SESSION,
}
# The partner's modules we send to (a CPO's commands and tokens); it serves the others.
RECEIVING_MODULES = {"commands", "tokens"}
# A 2.1.1 PATCH field under its 2.2.1 name.
PATCH_NAMES = {"voltage": "max_voltage", "amperage": "max_amperage"}


def dumped(model: Any) -> dict[str, Any]:
    """A validated 2.1.1 object as JSON without its absent optionals, to move into 2.2.1's
    shape."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def command_reply(data: Any, *, what: str) -> CommandReply:
    """A 2.1.1 CommandResponse, the answer to a command or its later result."""
    response = validated(v211.CommandResponse, data, what=f"CommandResponse to {what}")
    return CommandReply(
        outcome=OUTCOMES[str(response.result)],
        word=str(response.result),
        message=display_text(response.message),
        timeout=RESULT_WAIT,
    )


def patch_221(payload: Any) -> Any:
    """A 2.1.1 PATCH body under 2.2.1's names; `last_updated` (optional in 2.1.1) is the time
    we received it."""
    if not isinstance(payload, dict):
        return payload
    moved = {PATCH_NAMES.get(name, name): value for name, value in payload.items()}
    if "tariff_id" in moved:
        moved["tariff_ids"] = [moved.pop("tariff_id")]
    if "type" in moved:
        kind = moved.pop("type")
        if kind in translate.PARKING_TYPES:
            moved["parking_type"] = kind
    moved.setdefault("last_updated", ocpi_timestamp())
    return moved


class Ocpi211Adapter(Ocpi221Adapter):
    raw_tokens: ClassVar[bool] = True
    command_reply: ClassVar[Callable[..., CommandReply]] = staticmethod(command_reply)
    start_names_connector: ClassVar[bool] = False
    token_types: ClassVar[frozenset[str]] = frozenset(kind.value for kind in v211.TokenType)
    # 2.1.1 has no APP_USER: an app's token is OTHER.
    token_type: ClassVar[str] = v211.TokenType.OTHER.value

    @classmethod
    def credentials_parse(cls, data: Any) -> PartnerCredentials:
        credentials = wire_parse(
            v211.Credentials,
            data,
            what="the credentials object",
            ocpi_status=OcpiStatus.INVALID_PARAMETERS,
        )
        role = PartyRole(
            role="CPO",
            country_code=credentials.country_code.upper(),
            party_id=credentials.party_id.upper(),
            business_name=credentials.business_details.name,
        )
        return PartnerCredentials(token=credentials.token, url=credentials.url, roles=(role,))

    @classmethod
    def credentials_render(cls, token: str) -> dict[str, Any]:
        [ours] = our_roles()
        return {
            "token": token,
            "url": our_versions_url(),
            **{key: value for key, value in ours.items() if key != "role"},
        }

    @classmethod
    def endpoints_parse(cls, data: Any) -> dict[str, dict[str, str]]:
        details = wire_parse(
            v211.VersionDetails,
            data,
            what="the partner's version details",
            ocpi_status=OcpiStatus.UNABLE_TO_USE_CLIENT_API,
        )
        return {
            endpoint.identifier: {
                "RECEIVER" if endpoint.identifier in RECEIVING_MODULES else "SENDER": endpoint.url
            }
            for endpoint in details.endpoints
        }

    @classmethod
    def endpoints_render(cls, modules: list[tuple[str, str]], base_url: str) -> list[Any]:
        return [{"identifier": module, "url": f"{base_url}{module}"} for module, _ in modules]

    @cached_property
    def owner(self) -> dict[str, str]:
        """The one party a 2.1.1 partner is (from its credentials): the owner of what it sends."""
        role = self.partner.roles.order_by("pk").first()
        if role is None:
            raise PartnerError(f"{self.partner.name} has told us no party", permanent=True)
        return {"country_code": role.country_code, "party_id": role.party_id}

    # --- catalogue ------------------------------------------------------------------------------

    def location_parse(self, payload: Any) -> LocationRecord:
        location = validated(v211.Location, payload, what="location")
        return super().location_parse(translate.location_221(dumped(location), self.owner))

    def evse_parse(self, payload: Any) -> EvseRecord:
        evse = validated(v211.EVSE, payload, what="EVSE")
        return super().evse_parse(translate.evse_221(dumped(evse)))

    def connector_parse(self, payload: Any) -> ConnectorRecord:
        connector = validated(v211.Connector, payload, what="connector")
        return super().connector_parse(translate.connector_221(dumped(connector)))

    def location_patch_parse(self, payload: Any) -> Patch:
        return super().location_patch_parse(patch_221(payload))

    def evse_patch_parse(self, payload: Any) -> Patch:
        return super().evse_patch_parse(patch_221(payload))

    def connector_patch_parse(self, payload: Any) -> Patch:
        return super().connector_patch_parse(patch_221(payload))

    def tariff_parse(self, payload: Any) -> TariffRecord:
        tariff = validated(v211.Tariff, payload, what="tariff")
        return super().tariff_parse(translate.tariff_221(dumped(tariff), self.owner))

    def location_render(self, location: LocationRecord) -> dict[str, Any]:
        return translate.location_211(super().location_render(location))

    def tariff_render(self, tariff: TariffRecord) -> dict[str, Any]:
        return translate.tariff_211(super().tariff_render(tariff))

    def fetch_locations(self, *, since: datetime | None) -> Iterator[PulledPage[LocationRecord]]:
        self.owner  # noqa: B018 (read now: the pages are parsed in another process)
        return super().fetch_locations(since=since)

    def fetch_tariffs(self, *, since: datetime | None) -> Iterator[PulledPage[TariffRecord]]:
        self.owner  # noqa: B018 (as fetch_locations)
        return super().fetch_tariffs(since=since)

    # --- charging -------------------------------------------------------------------------------

    def cdr_parse(self, payload: Any) -> ChargeRecord:
        cdr = validated(v211.CDR, payload, what="CDR")
        record = cdrs.cdr_record(translate.cdr_221(dumped(cdr), self.owner))
        return replace(record, payload=payload)

    def cdrs_fetch(self, *, since: datetime) -> Iterator[PulledPage[ChargeRecord]]:
        self.owner  # noqa: B018 (as fetch_locations)
        return super().cdrs_fetch(since=since)

    def session_parse(self, payload: Any) -> SessionReport:
        session = validated(v211.Session, payload, what="session")
        return sessions.session_parse(translate.session_221(dumped(session), self.owner))

    def session_patch_parse(self, payload: Any) -> SessionChange:
        patch = validated(v211.SessionPatch, payload, what="session PATCH")
        moved = translate.session_patch_221(dumped(patch), ocpi_timestamp())
        return sessions.session_patch_parse(moved)

    def command_result_parse(self, payload: Any) -> CommandReply:
        return replace(command_reply(payload, what="the command"), timeout=None)

    def token_render(self, token: DriverToken, *, valid: bool | None = None) -> dict[str, Any]:
        ours = tokens.token_object(token, valid=valid)
        return {
            "uid": token.uid,
            "type": self.token_type,
            "auth_id": token.uid,
            "visual_number": token.contract_id,
            "issuer": ours["issuer"],
            "valid": ours["valid"],
            "whitelist": WhitelistType.NEVER.value,
            "last_updated": ours["last_updated"],
        }

    def authorization_render(
        self, token: DriverToken, *, allowed: str, reason: str, location: dict[str, Any] | None
    ) -> dict[str, Any]:
        info = super().authorization_render(
            token, allowed=allowed, reason=reason, location=location
        )
        return {key: value for key, value in info.items() if key != "token"}
