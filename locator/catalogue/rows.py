"""Location records as table rows: the half of a bulk write that needs no database.

A pull prepares its next page here in another process while the page before is written
(locations.py): plain lists of plain values travel between processes far cheaper than records.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from locator import grid, places
from locator.catalogue.errors import CatalogueError
from locator.catalogue.records import ConnectorRecord, EvseRecord, LocationRecord
from locator.catalogue.rules import (
    AGGREGATE_FIELDS,
    CONNECTOR_FIELDS,
    EVSE_FIELDS,
    LOCATION_FIELDS,
    Identity,
    aggregates,
)

# Column order of the rows built below (the tuples of `_location_row` and friends).
LOCATION_COLUMNS = (
    "source",
    "country_code",
    "party_id",
    "ocpi_id",
    *LOCATION_FIELDS,
    "hidden",
    "cell",
    "search_key",
    *AGGREGATE_FIELDS,
)
EVSE_COLUMNS = ("location_id", "uid", *EVSE_FIELDS)
CONNECTOR_COLUMNS = ("evse_id", "ocpi_id", *CONNECTOR_FIELDS, "power_kw", "last_updated")


@dataclass(slots=True)
class LocationRows:
    """Full Location records as table columns (name -> one value per row), ready to write.

    Built without the database (`locations_prepare`), so a pull can prepare its next
    page in another process while this one is written; plain lists of plain values travel
    between processes far cheaper than the records. Until written, an EVSE's `location_id` is
    its station's index in `locations` and a connector's `evse_id` its EVSE's index in `evses`.
    """

    locations: dict[str, list[Any]]
    evses: dict[str, list[Any]]
    connectors: dict[str, list[Any]]

    @property
    def identities(self) -> list[Identity]:
        """(country_code, party_id, id) of each station, in row order."""
        columns = self.locations
        return list(
            zip(columns["country_code"], columns["party_id"], columns["ocpi_id"], strict=True)
        )

    def keeping(self, kept: Sequence[int]) -> "LocationRows":
        """Only the stations at these indexes, in this order, with their EVSEs and connectors."""
        station_at = {old: new for new, old in enumerate(kept)}
        evses_kept = [i for i, at in enumerate(self.evses["location_id"]) if at in station_at]
        evse_at = {old: new for new, old in enumerate(evses_kept)}
        connectors_kept = [i for i, at in enumerate(self.connectors["evse_id"]) if at in evse_at]
        evses = columns_taken(self.evses, evses_kept)
        evses["location_id"] = [station_at[at] for at in evses["location_id"]]
        connectors = columns_taken(self.connectors, connectors_kept)
        connectors["evse_id"] = [evse_at[at] for at in connectors["evse_id"]]
        return LocationRows(
            locations=columns_taken(self.locations, kept),
            evses=evses,
            connectors=connectors,
        )


def columns_taken(columns: dict[str, list[Any]], indexes: Sequence[int]) -> dict[str, list[Any]]:
    """Only the rows at these indexes, in this order."""
    return {name: [values[i] for i in indexes] for name, values in columns.items()}


def row_columns(names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> dict[str, list[Any]]:
    """Row tuples (in `names` order) turned into columns."""
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def _location_row(source: str, record: LocationRecord) -> tuple[Any, ...]:
    hours = record.opening_times
    values = aggregates(
        record.evses, publish=record.publish, limited=bool(record.publish_allowed_to), hidden=False
    )
    return (
        source,
        record.country_code.upper(),
        record.party_id.upper(),
        record.id,
        record.name[:255],
        record.address[:255],
        record.city[:45],
        record.postal_code[:10],
        record.state[:45],
        record.country[:3],
        float(record.latitude),
        float(record.longitude),
        record.time_zone,
        hours,
        not hours or bool(hours.get("twentyfourseven")),
        record.charging_when_closed,
        list(record.facilities),
        record.operator_name[:100],
        record.parking_type,
        list(record.directions),
        record.publish,
        list(record.publish_allowed_to),
        record.remote_start,
        record.last_updated,
        False,
        grid.cell_key(float(record.latitude), float(record.longitude)),
        places.search_key(
            name=record.name,
            address=record.address,
            postal_code=record.postal_code,
            city=record.city,
        ),
        *(values[name] for name in AGGREGATE_FIELDS),
    )


def _evse_row(location: int, evse: EvseRecord) -> tuple[Any, ...]:
    return (
        location,
        evse.uid,
        evse.evse_id[:48],
        evse.status,
        evse.last_updated,  # status_changed_at, unless the status we hold is the same
        list(evse.capabilities),
        evse.floor_level[:4],
        evse.physical_reference[:16],
        list(evse.parking_restrictions),
        evse.last_updated,
    )


def connector_row(evse: int, connector: ConnectorRecord) -> tuple[Any, ...]:
    return (
        evse,
        connector.id,
        connector.standard[:32],
        connector.format[:8],
        connector.power_type[:20],
        connector.max_voltage,
        connector.max_amperage,
        connector.max_electric_power,
        list(connector.tariff_ids),
        connector.terms_and_conditions[:255],
        round(connector.power_kw, 1),
        connector.last_updated,
    )


def child_columns(
    evses_by_location: Iterable[tuple[int, Sequence[EvseRecord]]],
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """EVSE and connector columns of these stations' EVSEs (a station named by its id, or by
    its index in a page not yet written); a connector names its EVSE by index."""
    evse_rows: list[tuple[Any, ...]] = []
    connector_rows: list[tuple[Any, ...]] = []
    for location, evses in evses_by_location:
        for evse in evses:
            connector_rows += [connector_row(len(evse_rows), c) for c in evse.connectors]
            evse_rows.append(_evse_row(location, evse))
    return row_columns(EVSE_COLUMNS, evse_rows), row_columns(CONNECTOR_COLUMNS, connector_rows)


def _validate(record: LocationRecord) -> None:
    if not (-90 <= record.latitude <= 90 and -180 <= record.longitude <= 180):
        raise CatalogueError(
            f"Location {record.id}: coordinates ({record.latitude}, {record.longitude}) "
            "are outside the globe."
        )


def locations_prepare(*, source: str, records: Sequence[LocationRecord]) -> LocationRows:
    """The table rows of full Location records, EVSEs and connectors included, for
    `locations_write`; reads nothing from the database. Raises CatalogueError for
    impossible coordinates."""
    for record in records:
        _validate(record)
    rows = [_location_row(source, record) for record in records]
    evses, connectors = child_columns(enumerate(record.evses for record in records))
    return LocationRows(
        locations=row_columns(LOCATION_COLUMNS, rows),
        evses=evses,
        connectors=connectors,
    )
