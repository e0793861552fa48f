"""Our stored copy of an object, as a record: what a partner reading back its own objects (a
GET on our receiver) is shown."""

from dataclasses import fields
from typing import Any, TypeVar

from django.db import models

from locator.catalogue.records import ConnectorRecord, EvseRecord, LocationRecord, TariffRecord
from locator.catalogue.rules import identity_lookup
from locator.models import Connector, Location, Tariff

R = TypeVar("R", LocationRecord, EvseRecord, ConnectorRecord, TariffRecord)


def _record(kind: type[R], row: models.Model, **given: Any) -> R:
    """A record of a stored row: each field of the record read from the row's field of the
    same name (a JSON list as a tuple), bar those `given`."""
    values = dict(given)
    for field in fields(kind):
        if field.name not in given:
            value = getattr(row, field.name)
            values[field.name] = tuple(value or ()) if field.default == () else value
    return kind(**values)


def connector_record(row: Connector) -> ConnectorRecord:
    """A stored connector as a record."""
    return _record(ConnectorRecord, row, id=row.ocpi_id)


def catalogue_location_get(
    *, source: str, country_code: str, party_id: str, location_id: str
) -> LocationRecord | None:
    """The Location we hold under this identity, with every EVSE (REMOVED ones too) and
    connector, or None."""
    lookup = identity_lookup(source, country_code, party_id, location_id)
    location = Location.objects.filter(**lookup).prefetch_related("evses__connectors").first()
    if location is None:
        return None
    evses = tuple(
        _record(
            EvseRecord,
            evse,
            connectors=tuple(connector_record(row) for row in evse.connectors.all()),
        )
        for evse in location.evses.all()
    )
    return _record(
        LocationRecord,
        location,
        id=location.ocpi_id,
        latitude=location.lat,
        longitude=location.lon,
        evses=evses,
    )


def catalogue_tariff_get(
    *, source: str, country_code: str, party_id: str, tariff_id: str
) -> TariffRecord | None:
    """The Tariff we hold under this identity, or None."""
    lookup = identity_lookup(source, country_code, party_id, tariff_id)
    tariff = Tariff.objects.filter(**lookup).first()
    return None if tariff is None else _record(TariffRecord, tariff, id=tariff.ocpi_id)
