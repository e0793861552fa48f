"""The OCPI 2.2.1 adapter: pulls and parses locations and tariffs into catalogue records, and
CDRs into charge records (`roaming.ocpi.v221.cdrs`), and pushes our drivers' tokens (the wire code
of each module lives in `roaming.ocpi.v221`).

Inbound objects are read tolerantly (see `roaming.ocpi.v221.reading`).
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache, cached_property
from types import ModuleType
from typing import Annotated, Any, ClassVar

import pydantic
from django.conf import settings

from locator.catalogue import (
    EVSE_PATCHABLE,
    LOCATION_PATCHABLE,
    ConnectorRecord,
    EvseRecord,
    LocationRecord,
    Patch,
    TariffRecord,
)
from roaming.adapters.base import (
    ChargeRecord,
    CommandReply,
    PartnerCredentials,
    PartyRole,
    PulledPage,
    Record,
    RoamingAdapter,
    SessionChange,
    SessionReport,
    SkippedObject,
)
from roaming.errors import PartnerError
from roaming.models import DriverToken, PartnerKind
from roaming.ocpi.pagination import ocpi_paginate
from roaming.ocpi.transport import OcpiStatus, ocpi_timestamp
from roaming.ocpi.v221 import cdrs, commands, render, schemas, sessions, tokens
from roaming.ocpi.v221.reading import invalid, lenient, validated, validation_message, wire_parse
from roaming.ocpi.v221.tariffs import tariff_record
from roaming.ocpi.versions import our_roles, our_versions_url

PAGE_SIZE = 1000


@cache
def field_adapter(model: type[schemas.OcpiModel], name: str) -> pydantic.TypeAdapter[Any]:
    field = model.model_fields[name]
    # The field's type with its constraints, built at run time, which mypy cannot follow.
    annotation: Any = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    return pydantic.TypeAdapter(annotation)


def patch_fields(
    model: type[schemas.OcpiModel], payload: Any, *, what: str, lists: tuple[str, ...]
) -> tuple[datetime, dict[str, Any]]:
    """Validate each field of a PATCH body against the full object's schema."""
    if not isinstance(payload, dict):
        raise invalid(what, "a PATCH body must be a JSON object")
    payload = lenient(payload)
    if "last_updated" not in payload:
        raise invalid(what, "a PATCH must include last_updated")
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name in lists:
            raise invalid(what, f"{name} cannot be patched as a list; PUT or PATCH each at its URL")
        if name not in model.model_fields:
            raise invalid(what, f"{name} is not a field of {model.__name__}")
        try:
            values[name] = field_adapter(model, name).validate_python(value)
        except pydantic.ValidationError as exc:
            raise invalid(what, validation_message(exc, name)) from exc
    return values.pop("last_updated"), values


def jsonable(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, list):
        return tuple(jsonable(item) for item in value)
    return str(value) if isinstance(value, str) else value


def connector_record(connector: schemas.Connector) -> ConnectorRecord:
    return ConnectorRecord(
        id=connector.id,
        standard=str(connector.standard),
        format=str(connector.format),
        power_type=str(connector.power_type),
        max_voltage=connector.max_voltage,
        max_amperage=connector.max_amperage,
        max_electric_power=connector.max_electric_power,
        tariff_ids=tuple(connector.tariff_ids),
        terms_and_conditions=connector.terms_and_conditions or "",
        last_updated=connector.last_updated,
    )


def evse_record(evse: schemas.EVSE) -> EvseRecord:
    return EvseRecord(
        uid=evse.uid,
        evse_id=evse.evse_id or "",
        status=str(evse.status),
        capabilities=tuple(str(capability) for capability in evse.capabilities),
        connectors=tuple(connector_record(connector) for connector in evse.connectors),
        floor_level=evse.floor_level or "",
        physical_reference=evse.physical_reference or "",
        parking_restrictions=tuple(str(item) for item in evse.parking_restrictions),
        last_updated=evse.last_updated,
    )


class Ocpi221Adapter(RoamingAdapter):
    """OCPI 2.2.1. A later version subclasses it with its own schemas module as `wire` (whose
    Location, EVSE, Connector, Tariff, Credentials and VersionDetails subclass 2.2.1's), and
    overrides the methods where the wire differs in more than a model (money, for 2.3.0)."""

    wire: ClassVar[ModuleType] = schemas
    # How this version reads a CommandResponse; whether its StartSession names the connector
    # and our authorization reference (2.1.1's has neither).
    command_reply: ClassVar[Callable[..., CommandReply]] = staticmethod(commands.response_reply)
    start_names_connector: ClassVar[bool] = True
    token_types: ClassVar[frozenset[str]] = frozenset(kind.value for kind in schemas.TokenType)
    token_type: ClassVar[str] = schemas.TokenType.APP_USER.value

    @classmethod
    def credentials_parse(cls, data: Any) -> PartnerCredentials:
        credentials = wire_parse(
            cls.wire.Credentials,
            data,
            what="the credentials object",
            ocpi_status=OcpiStatus.INVALID_PARAMETERS,
        )
        return PartnerCredentials(
            token=credentials.token, url=credentials.url, roles=cls.party_roles(credentials)
        )

    @classmethod
    def party_roles(cls, credentials: Any) -> tuple[PartyRole, ...]:
        """The parties a validated credentials object of this version speaks for."""
        return tuple(
            PartyRole(
                role=str(role.role),
                country_code=role.country_code.upper(),
                party_id=role.party_id.upper(),
                business_name=role.business_details.name,
            )
            for role in credentials.roles
        )

    @classmethod
    def credentials_render(cls, token: str) -> dict[str, Any]:
        return {"token": token, "url": our_versions_url(), "roles": our_roles()}

    @classmethod
    def endpoints_parse(cls, data: Any) -> dict[str, dict[str, str]]:
        details = wire_parse(
            cls.wire.VersionDetails,
            data,
            what="the partner's version details",
            ocpi_status=OcpiStatus.UNABLE_TO_USE_CLIENT_API,
        )
        endpoints: dict[str, dict[str, str]] = {}
        for endpoint in details.endpoints:
            endpoints.setdefault(endpoint.identifier, {})[str(endpoint.role)] = endpoint.url
        return endpoints

    @classmethod
    def endpoints_render(cls, modules: list[tuple[str, str]], base_url: str) -> list[Any]:
        return [
            {"identifier": module, "role": role, "url": f"{base_url}{module}"}
            for module, role in modules
        ]

    def token_render(self, token: DriverToken, *, valid: bool | None = None) -> dict[str, Any]:
        return tokens.token_object(token, valid=valid)

    def authorization_render(
        self, token: DriverToken, *, allowed: str, reason: str, location: dict[str, Any] | None
    ) -> dict[str, Any]:
        return tokens.authorization_info(token, allowed=allowed, reason=reason, location=location)

    def location_references_parse(self, body: bytes) -> dict[str, Any] | None:
        return tokens.location_references_parse(body)

    @cached_property
    def role_names(self) -> dict[tuple[str, str], str]:
        return {
            (role.country_code, role.party_id): role.business_name
            for role in self.partner.roles.all()
        }

    def role_name(self, country_code: str, party_id: str) -> str:
        """The operator name from the partner's credentials, for locations that give none
        (read once per adapter, not once per location)."""
        return self.role_names.get((country_code.upper(), party_id.upper()), self.partner.name)

    def routing_headers(self) -> dict[str, str]:
        """Through a hub, a GET for everything is addressed to the hub itself (2.2.1 routing)."""
        hub = self.partner.roles.filter(role="HUB").first()
        if hub is None:
            return {}
        return {
            "OCPI-from-country-code": settings.OCPI_COUNTRY_CODE,
            "OCPI-from-party-id": settings.OCPI_PARTY_ID,
            "OCPI-to-country-code": hub.country_code,
            "OCPI-to-party-id": hub.party_id,
        }

    @cached_property
    def takes_commands(self) -> bool:
        """Whether we can send this partner START_SESSION at all (read once per adapter)."""
        return self.partner.kind != PartnerKind.FEED and bool(
            self.partner.endpoint("commands", "RECEIVER")
        )

    def can_start_remotely(self, evses: list[schemas.EVSE]) -> bool:
        return self.takes_commands and any(
            schemas.Capability.REMOTE_START_STOP_CAPABLE in evse.capabilities for evse in evses
        )

    def location_record(self, location: schemas.Location) -> LocationRecord:
        operator = location.operator.name if location.operator else ""
        return LocationRecord(
            country_code=location.country_code.upper(),
            party_id=location.party_id.upper(),
            id=location.id,
            publish=location.publish,
            publish_allowed_to=tuple(
                item.model_dump(mode="json", exclude_none=True)
                for item in location.publish_allowed_to
            ),
            name=location.name or "",
            address=location.address,
            city=location.city,
            postal_code=location.postal_code or "",
            state=location.state or "",
            country=location.country,
            latitude=float(location.coordinates.latitude),
            longitude=float(location.coordinates.longitude),
            parking_type=str(location.parking_type or ""),
            evses=tuple(evse_record(evse) for evse in location.evses),
            directions=tuple(item.model_dump(mode="json") for item in location.directions),
            operator_name=operator or self.role_name(location.country_code, location.party_id),
            facilities=tuple(str(facility) for facility in location.facilities),
            time_zone=location.time_zone,
            opening_times=location.opening_times.model_dump(mode="json", exclude_defaults=True)
            if location.opening_times
            else None,
            charging_when_closed=location.charging_when_closed
            if location.charging_when_closed is not None
            else True,
            remote_start=self.can_start_remotely(location.evses),
            last_updated=location.last_updated,
        )

    def location_parse(self, payload: Any) -> LocationRecord:
        return self.location_record(validated(self.wire.Location, payload, what="location"))

    def evse_parse(self, payload: Any) -> EvseRecord:
        return evse_record(validated(self.wire.EVSE, payload, what="EVSE"))

    def connector_parse(self, payload: Any) -> ConnectorRecord:
        return connector_record(validated(self.wire.Connector, payload, what="connector"))

    def location_patch_parse(self, payload: Any) -> Patch:
        last_updated, values = patch_fields(
            self.wire.Location, payload, what="location PATCH", lists=("evses",)
        )
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name == "coordinates":
                changes["latitude"] = float(value.latitude)
                changes["longitude"] = float(value.longitude)
            elif name == "operator":
                changes["operator_name"] = value.name if value else ""
            elif name in LOCATION_PATCHABLE:  # others (images, energy mix, ...) are not kept
                changes[name] = jsonable(value)
        return Patch(last_updated=last_updated, changes=changes)

    def evse_patch_parse(self, payload: Any) -> Patch:
        last_updated, values = patch_fields(
            self.wire.EVSE, payload, what="EVSE PATCH", lists=("connectors",)
        )
        changes = {
            name: jsonable(value) for name, value in values.items() if name in EVSE_PATCHABLE
        }
        return Patch(last_updated=last_updated, changes=changes)

    def connector_patch_parse(self, payload: Any) -> Patch:
        last_updated, values = patch_fields(
            self.wire.Connector, payload, what="connector PATCH", lists=()
        )
        changes = {name: jsonable(value) for name, value in values.items() if name != "id"}
        return Patch(last_updated=last_updated, changes=changes)

    def tariff_parse(self, payload: Any) -> TariffRecord:
        return tariff_record(validated(self.wire.Tariff, payload, what="tariff"))

    def location_render(self, location: LocationRecord) -> dict[str, Any]:
        return render.location_wire(location)

    def tariff_render(self, tariff: TariffRecord) -> dict[str, Any]:
        return render.tariff_wire(tariff)

    def pages(self, module: str, since: datetime | None) -> Iterator[list[Any]]:
        """The module's pages of raw objects; everything read from the database is read here,
        before the first page is fetched."""
        url = (
            self.partner.locations_url
            if module == "locations" and self.partner.kind == PartnerKind.FEED
            else self.partner.endpoint(module, "SENDER")
        )
        if not url:
            raise PartnerError(f"{self.partner.name} offers no {module} endpoint", permanent=True)
        extra_headers = self.routing_headers()
        if self.partner.feed_header_name:
            extra_headers[self.partner.feed_header_name] = self.partner.feed_header_value
        return ocpi_paginate(
            url,
            partner=self.partner,
            module=module,
            token=self.partner.outbound_token or None,
            raw_token=self.partner.raw_token_header,
            params={"date_from": ocpi_timestamp(since) if since else None},
            limit=PAGE_SIZE,
            extra_headers=extra_headers,
        )

    def fetch_locations(self, *, since: datetime | None) -> Iterator[PulledPage[LocationRecord]]:
        self.role_names  # noqa: B018 (read now: the pages are parsed in another process)
        return self.pulled(self.pages("locations", since), self.location_parse)

    def fetch_tariffs(self, *, since: datetime | None) -> Iterator[PulledPage[TariffRecord]]:
        return self.pulled(self.pages("tariffs", since), self.tariff_parse)

    def cdr_parse(self, payload: Any) -> ChargeRecord:
        return cdrs.cdr_record(payload)

    def cdrs_fetch(self, *, since: datetime) -> Iterator[PulledPage[ChargeRecord]]:
        return self.pulled(self.pages("cdrs", since), self.cdr_parse)

    def start_session(
        self,
        *,
        token: DriverToken,
        location_id: str,
        evse_uid: str,
        connector_id: str,
        authorization_reference: str,
        response_url: str,
    ) -> CommandReply:
        return commands.start_session(
            self.partner,
            token=self.token_render(token),
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id if self.start_names_connector else "",
            authorization_reference=authorization_reference if self.start_names_connector else "",
            response_url=response_url,
            read=self.command_reply,
        )

    def stop_session(self, *, session_id: str, response_url: str) -> CommandReply:
        return commands.stop_session(
            self.partner, session_id=session_id, response_url=response_url, read=self.command_reply
        )

    def unlock_connector(
        self, *, location_id: str, evse_uid: str, connector_id: str, response_url: str
    ) -> CommandReply:
        return commands.unlock_connector(
            self.partner,
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id,
            response_url=response_url,
            read=self.command_reply,
        )

    def command_result_parse(self, payload: Any) -> CommandReply:
        return commands.command_result_parse(payload)

    def session_parse(self, payload: Any) -> SessionReport:
        return sessions.session_parse(payload)

    def session_patch_parse(self, payload: Any) -> SessionChange:
        return sessions.session_patch_parse(payload)

    def token_push(self, *, token: DriverToken) -> None:
        tokens.token_push(
            self.partner, token, headers=self.routing_headers(), render=self.token_render
        )

    @staticmethod
    def pulled(
        pages: Iterator[list[Any]], parse: Callable[[Any], Record]
    ) -> Iterator[PulledPage[Record]]:
        for items in pages:
            warning = getattr(items, "warning", "")  # a Page of ocpi_paginate's
            page: PulledPage[Record] = PulledPage(warnings=[warning] if warning else [])
            for item in items:
                try:
                    page.records.append(parse(item))
                except PartnerError as error:
                    page.skipped.append(
                        SkippedObject(object_id=object_id(item), reason=error.message)
                    )
            yield page


def object_id(item: Any) -> str:
    """The id to record a skipped object under; a NUL in it would fail that record too."""
    if not isinstance(item, dict):
        return "(not an object)"
    return str(item.get("id", "(no id)"))[:64].replace("\x00", "<NUL>")
