"""Single-object writes: a pushed EVSE or connector (PUT), and PATCHes at every level.

Each locks its station first and the EVSE after it, the order every catalogue write locks in
(see statuses.py), and keeps the rules of rules.py. A full Location PUT is a bulk write of one
(locations.py).
"""

from datetime import datetime
from typing import Any

from django.db import transaction

from locator import grid, places
from locator.catalogue import bulk
from locator.catalogue.errors import CatalogueError, UnknownObjectError
from locator.catalogue.grid_refresh import grid_refresh_on_commit
from locator.catalogue.locations import evses_write
from locator.catalogue.reads import connector_record
from locator.catalogue.records import (
    CONNECTOR_PATCHABLE,
    EVSE_PATCHABLE,
    LOCATION_PATCHABLE,
    ConnectorRecord,
    EvseRecord,
    Patch,
)
from locator.catalogue.rows import CONNECTOR_COLUMNS, child_columns, connector_row, row_columns
from locator.catalogue.rules import CONNECTOR_FIELDS, identity_lookup, parent_touch, recompute
from locator.models import Connector, Evse, Location

# A Location's position is two fields of its record, and two columns.
_LOCATION_COLUMN = {"latitude": "lat", "longitude": "lon"}


def _held_location(source: str, country_code: str, party_id: str, location_id: str) -> Location:
    lookup = identity_lookup(source, country_code, party_id, location_id)
    location = Location.objects.select_for_update().filter(**lookup).first()
    if location is None:
        raise UnknownObjectError(
            f"Unknown location {country_code}/{party_id}/{location_id}: PUT the location first."
        )
    return location


def _held_evse(location: Location, evse_uid: str) -> Evse:
    evse = Evse.objects.select_for_update().filter(location=location, uid=evse_uid).first()
    if evse is None:
        raise UnknownObjectError(
            f"Unknown EVSE {evse_uid} at location {location.ocpi_id}: PUT the EVSE first."
        )
    return evse


def _written(location: Location, last_updated: datetime, evse: Evse | None = None) -> bool:
    """After a child of this station was written at `last_updated` (an EVSE, or a connector of
    `evse`): bump its parents' `last_updated`, rewrite the station's aggregates and clusters.
    Returns True: the write applied."""
    if evse is not None and last_updated > evse.last_updated:
        Evse.objects.filter(id=evse.id).update(last_updated=last_updated)
    parent_touch(location, last_updated)
    grid_refresh_on_commit(recompute([location.id]))
    return True


def _not_patchable(level: str, changes: dict[str, Any], patchable: frozenset[str]) -> None:
    unknown = set(changes) - patchable
    if unknown:
        raise CatalogueError(f"These {level} fields cannot be patched: {sorted(unknown)}.")


@transaction.atomic
def catalogue_location_patch(
    *, source: str, country_code: str, party_id: str, location_id: str, patch: Patch
) -> bool:
    """Apply a PATCH to a Location's own fields (not its EVSEs: those have their own calls).

    Returns False, changing nothing, when ours is newer. Raises UnknownObjectError for a location
    we do not hold, CatalogueError for a field that cannot be patched.
    """
    location = _held_location(source, country_code, party_id, location_id)
    if patch.last_updated < location.last_updated:
        return False
    _not_patchable("Location", patch.changes, LOCATION_PATCHABLE)
    values = {_LOCATION_COLUMN.get(name, name): value for name, value in patch.changes.items()}
    old_cell = location.cell
    for name, value in values.items():
        setattr(location, name, value)
    if "opening_times" in values:
        hours = values["opening_times"]
        location.twentyfourseven = not hours or bool(hours.get("twentyfourseven"))
    location.cell = grid.cell_key(location.lat, location.lon)
    location.search_key = places.search_key(
        name=location.name,
        address=location.address,
        postal_code=location.postal_code,
        city=location.city,
    )
    location.last_updated = patch.last_updated
    location.save()
    cells = recompute([location.id]) | {old_cell, location.cell}
    grid_refresh_on_commit(cells)
    return True


@transaction.atomic
def catalogue_evse_put(
    *, source: str, country_code: str, party_id: str, location_id: str, evse: EvseRecord
) -> bool:
    """Create or replace one EVSE (with its connectors) of a known Location.

    Returns False, changing nothing, when the EVSE we hold is newer. Bumps the Location's
    `last_updated`. Raises UnknownObjectError for a location we do not hold.
    """
    location = _held_location(source, country_code, party_id, location_id)
    held = Evse.objects.filter(location=location, uid=evse.uid).first()
    if held and evse.last_updated < held.last_updated:
        return False
    evses_write(*child_columns([(location.id, [evse])]), replace_all=False)
    return _written(location, evse.last_updated)


@transaction.atomic
def catalogue_evse_patch(
    *,
    source: str,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    patch: Patch,
) -> bool:
    """Apply a PATCH to one EVSE's fields (status, capabilities, ...), not its connectors.

    Returns False when ours is newer. A status change moves `status_changed_at` and the
    station's availability; the Location's `last_updated` is bumped. Raises UnknownObjectError for
    a location or EVSE we do not hold, CatalogueError for a field that cannot be patched.
    A pushed status alone goes to `evse_status_submit` instead.
    """
    location = _held_location(source, country_code, party_id, location_id)
    evse = _held_evse(location, evse_uid)
    if patch.last_updated < evse.last_updated:
        return False
    _not_patchable("EVSE", patch.changes, EVSE_PATCHABLE)
    if "status" in patch.changes and patch.changes["status"] != evse.status:
        evse.status_changed_at = patch.last_updated
    for name, value in patch.changes.items():
        setattr(evse, name, list(value) if isinstance(value, tuple) else value)
    evse.last_updated = patch.last_updated
    evse.save()
    return _written(location, patch.last_updated)


@transaction.atomic
def catalogue_connector_put(
    *,
    source: str,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector: ConnectorRecord,
) -> bool:
    """Create or replace one connector of a known EVSE. Returns False when ours is newer.
    Bumps the EVSE's and the Location's `last_updated`. Raises UnknownObjectError for a location
    or EVSE we do not hold."""
    location = _held_location(source, country_code, party_id, location_id)
    evse = _held_evse(location, evse_uid)
    held = Connector.objects.filter(evse=evse, ocpi_id=connector.id).first()
    if held and connector.last_updated < held.last_updated:
        return False
    bulk.upsert(
        Connector,
        row_columns(CONNECTOR_COLUMNS, [connector_row(evse.id, connector)]),
        unique=("evse_id", "ocpi_id"),
        update=(*CONNECTOR_FIELDS, "power_kw", "last_updated"),
    )
    return _written(location, connector.last_updated, evse)


@transaction.atomic
def catalogue_connector_patch(
    *,
    source: str,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    patch: Patch,
) -> bool:
    """Apply a PATCH to one connector (e.g. new `tariff_ids`). Returns False when ours is
    newer; bumps the EVSE's and Location's `last_updated`. Raises UnknownObjectError for a
    connector or parent we do not hold, CatalogueError for a field that cannot be patched."""
    location = _held_location(source, country_code, party_id, location_id)
    evse = _held_evse(location, evse_uid)
    connector = Connector.objects.filter(evse=evse, ocpi_id=connector_id).first()
    if connector is None:
        raise UnknownObjectError(
            f"Unknown connector {connector_id} on EVSE {evse_uid}: PUT it first."
        )
    if patch.last_updated < connector.last_updated:
        return False
    _not_patchable("Connector", patch.changes, CONNECTOR_PATCHABLE)
    for name, value in patch.changes.items():
        setattr(connector, name, list(value) if isinstance(value, tuple) else value)
    connector.power_kw = round(connector_record(connector).power_kw, 1)
    connector.last_updated = patch.last_updated
    connector.save()
    return _written(location, patch.last_updated, evse)
