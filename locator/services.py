"""Writes to the station catalogue: the one upsert path for pulls and pushes, and comments.

Every catalogue write goes through here, whatever the protocol (roaming parses OCPI into
`locator.catalogue` records first). The rules, for all of them:

- Identity is (source, country_code, party_id, id); `source` names the feed or partner.
- Ordering: a record whose `last_updated` is older than what we hold is ignored (counted as
  `skipped_stale`); equal timestamps rewrite, so a repeated PUT is harmless.
- A child write (EVSE, connector) bumps its parents' `last_updated` to at least its own, as
  OCPI requires of a receiver.
- Visibility: a station shows when `publish` is true, it was not hidden by a full pull, and it
  has at least one EVSE not `REMOVED`.
- Aggregates (counts per connector standard, availability, max kW, status time, tariff) and the
  cluster grid are rewritten in the same transaction, so readers never aggregate EVSEs.
"""

import logging
import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from config.celery import app as celery_app
from locator import bulk, grid, pricing
from locator.catalogue import (
    ConnectorRecord,
    EvseRecord,
    EvseStatusUpdate,
    LocationRecord,
    TariffRecord,
    UpsertResult,
    standard_bit,
)
from locator.models import (
    CheckInOutcome,
    Comment,
    Connector,
    Evse,
    GridDirtyCell,
    Location,
    Tariff,
)

logger = logging.getLogger(__name__)

Identity = tuple[str, str, str]

LOCATION_FIELDS = (
    "name",
    "address",
    "city",
    "postal_code",
    "state",
    "country",
    "lat",
    "lon",
    "time_zone",
    "opening_times",
    "twentyfourseven",
    "charging_when_closed",
    "facilities",
    "operator_name",
    "parking_type",
    "directions",
    "publish",
    "publish_allowed_to",
    "remote_start",
    "last_updated",
)
AGGREGATE_FIELDS = (
    "visible",
    "evse_count",
    "available_count",
    "max_power_kw",
    "standards_mask",
    "available_mask",
    "connector_counts",
    "status_at",
    "tariff_id",
)
EVSE_FIELDS = (
    "evse_id",
    "status",
    "status_changed_at",
    "capabilities",
    "floor_level",
    "physical_reference",
    "parking_restrictions",
    "last_updated",
)
# PATCHable fields per level, in the neutral names of locator.catalogue.
LOCATION_PATCHABLE = frozenset(LOCATION_FIELDS) - {"lat", "lon", "last_updated", "twentyfourseven"}
EVSE_PATCHABLE = frozenset(EVSE_FIELDS) - {"status_changed_at", "last_updated"}
CONNECTOR_FIELDS = (
    "standard",
    "format",
    "power_type",
    "max_voltage",
    "max_amperage",
    "max_electric_power",
    "tariff_ids",
    "terms_and_conditions",
)
CONNECTOR_PATCHABLE = frozenset(CONNECTOR_FIELDS)


class CatalogueError(Exception):
    """A write the catalogue cannot take, with a message for the partner's engineer.

    `unknown` is set when the parent object does not exist (OCPI 2003 / HTTP 404)."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


class CommentError(Exception):
    """A comment a driver cannot post or change, with the reason to show them."""


# --- aggregates -------------------------------------------------------------------------


class _ConnectorFacts(Protocol):
    """What aggregates read of a connector: a ConnectorRecord, or a stored row's values."""

    @property
    def standard(self) -> str: ...
    @property
    def power_kw(self) -> float: ...
    @property
    def tariff_ids(self) -> Sequence[str]: ...


class _EvseFacts(Protocol):
    """What aggregates read of an EVSE: an EvseRecord, or a stored row's values."""

    @property
    def status(self) -> str: ...
    @property
    def last_updated(self) -> datetime: ...
    @property
    def connectors(self) -> Sequence[_ConnectorFacts]: ...


class _StoredConnector(NamedTuple):
    standard: str
    power_kw: float
    tariff_ids: list[str]


@dataclass(slots=True)
class _StoredEvse:
    status: str
    last_updated: datetime
    connectors: list[_StoredConnector] = field(default_factory=list)


def _aggregates(evses: Iterable[_EvseFacts], *, publish: bool, hidden: bool) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    evse_count = available = 0
    max_kw = 0.0
    mask = available_mask = 0
    status_at: datetime | None = None
    tariff_id = ""
    for evse in evses:
        if evse.status == "REMOVED":
            continue
        evse_count += 1
        is_available = evse.status == "AVAILABLE"
        available += is_available
        status_at = max(status_at, evse.last_updated) if status_at else evse.last_updated
        for standard in {c.standard for c in evse.connectors}:
            entry = counts.setdefault(standard, {"total": 0, "available": 0})
            entry["total"] += 1
            entry["available"] += is_available
            mask |= standard_bit(standard)
            if is_available:
                available_mask |= standard_bit(standard)
        for connector in evse.connectors:
            # The price hint is the fastest connector's first tariff.
            kw = connector.power_kw
            if kw > max_kw or (kw == max_kw and not tariff_id):
                max_kw = kw
                tariff_id = connector.tariff_ids[0] if connector.tariff_ids else tariff_id
    return {
        "visible": publish and not hidden and evse_count > 0,
        "evse_count": evse_count,
        "available_count": available,
        "max_power_kw": round(max_kw, 1),
        "standards_mask": mask,
        "available_mask": available_mask,
        "connector_counts": counts,
        "status_at": status_at,
        "tariff_id": tariff_id,
    }


def _recompute(location_ids: Iterable[int], bump: dict[int, datetime] | None = None) -> set[int]:
    """Rewrite the aggregates of these stations from their EVSE rows; return their grid cells.

    `bump` moves stations' `last_updated` forward (never back) to a child's timestamp."""
    bump = bump or {}
    ids = sorted(set(location_ids))
    if not ids:
        return set()
    facts: dict[int, dict[int, _StoredEvse]] = defaultdict(dict)
    for evse_id, location_id, status, updated in Evse.objects.filter(
        location_id__in=ids
    ).values_list("id", "location_id", "status", "last_updated"):
        facts[location_id][evse_id] = _StoredEvse(status, updated)
    # Connectors by the EVSE ids just read: an index lookup whatever the table statistics say
    # (a join on location_id was planned as a full scan right after a bulk load).
    location_of = {
        evse_id: location_id for location_id, evses in facts.items() for evse_id in evses
    }
    for evse_id, standard, kw, tariff_ids in Connector.objects.filter(
        evse_id__in=list(location_of)
    ).values_list("evse_id", "standard", "power_kw", "tariff_ids"):
        facts[location_of[evse_id]][evse_id].connectors.append(
            _StoredConnector(standard, kw, tariff_ids or [])
        )
    locations = list(
        Location.objects.filter(id__in=ids).only(
            "id", "publish", "hidden", "cell", "last_updated", *GRID_FIELDS
        )
    )
    cells: set[int] = set()
    for location in locations:
        before = _grid_facts(location)
        values = _aggregates(
            facts[location.id].values(), publish=location.publish, hidden=location.hidden
        )
        for name, value in values.items():
            setattr(location, name, value)
        if location.id in bump:
            location.last_updated = max(location.last_updated, bump[location.id])
        if _grid_facts(location) != before:
            cells.add(location.cell)
    bulk.update(locations, [*AGGREGATE_FIELDS, "last_updated"])
    # Only stations whose clusters would change cost a grid refresh (most status changes
    # between two busy states do not).
    return cells


GRID_FIELDS = ("visible", "available_count", "standards_mask", "available_mask", "max_power_kw")


def _grid_facts(location: Location) -> tuple[Any, ...]:
    return (
        location.visible,
        location.available_count > 0,
        location.standards_mask,
        location.available_mask,
        location.max_power_kw,
    )


def _refresh_grid_on_commit(cells: set[int]) -> None:
    """Bring the clusters over these cells up to date.

    With a real worker (Celery not eager) the cells are marked dirty in this transaction and
    one task after commit refreshes everything marked so far: a pull of many pages re-reads
    each cell once per refresh instead of once per page, and ingest does not wait for it.
    Eager (embedded default, tests): refreshed here, in the writing transaction."""
    if not cells:
        return
    if celery_app.conf.task_always_eager:
        grid.refresh(cells)
        return
    from locator import tasks  # here, not at the top: the task module imports these services

    # In order: two writers marking the same cells would otherwise wait for each other's.
    GridDirtyCell.objects.bulk_create(
        [GridDirtyCell(cell=cell) for cell in sorted(cells)],
        ignore_conflicts=True,
        batch_size=5000,
    )

    def refresh_soon() -> None:
        # One refresh a second at most, however many pages or pushes commit meanwhile: each
        # refresh takes every cell marked until it starts.
        delay = grid_refresh_delay()
        if cache.add(GRID_REFRESH_SCHEDULED, 1, delay):
            tasks.catalogue_grid_refresh.apply_async(countdown=delay)

    transaction.on_commit(refresh_soon)


GRID_LOCK = "locator:grid-refresh-lock"
GRID_REFRESH_SCHEDULED = "locator:grid-refresh-scheduled"
GRID_REFRESH_LAST_SECONDS = "locator:grid-refresh-last-seconds"
GRID_REFRESH_DELAY = 1
GRID_REFRESH_REST = 4


def grid_refresh_delay() -> float:
    """How long to wait before the next cluster-grid refresh: a second, or GRID_REFRESH_REST
    times as long as the last refresh took, whichever is longer.

    The refreshes of status pushes are small, so the map follows them within a second. Those
    of a big import are not (each adds up again every cell the import has filled so far), and
    back to back they took most of a Celery worker and a good share of the database; spaced
    like this they take at most a fifth, and the map lags the import by a few seconds."""
    last = cache.get(GRID_REFRESH_LAST_SECONDS) or 0.0
    return max(GRID_REFRESH_DELAY, GRID_REFRESH_REST * float(last))


def catalogue_grid_refresh_dirty(*, limit: int = 50_000) -> int | None:
    """Refresh the cluster grid over cells marked dirty; returns how many cells, or None when
    another refresh is running (the caller retries later). Safe to run twice: cells are
    claimed and removed in the same transaction as their refresh."""
    if not cache.add(GRID_LOCK, 1, 600):
        return None
    started = time.monotonic()
    try:
        with transaction.atomic():
            cells = list(
                GridDirtyCell.objects.select_for_update(skip_locked=True).values_list(
                    "cell", flat=True
                )[:limit]
            )
            for start in range(0, len(cells), 5000):
                GridDirtyCell.objects.filter(cell__in=cells[start : start + 5000]).delete()
            grid.refresh(cells)
        cache.set(GRID_REFRESH_LAST_SECONDS, time.monotonic() - started, 3600)
        return len(cells)
    finally:
        cache.delete(GRID_LOCK)


# --- locations --------------------------------------------------------------------------

# Column order of the rows built below (the tuples of `_location_row` and friends).
LOCATION_COLUMNS = (
    "source",
    "country_code",
    "party_id",
    "ocpi_id",
    *LOCATION_FIELDS,
    "hidden",
    "cell",
    *AGGREGATE_FIELDS,
)
EVSE_COLUMNS = ("location_id", "uid", *EVSE_FIELDS)
CONNECTOR_COLUMNS = ("evse_id", "ocpi_id", *CONNECTOR_FIELDS, "power_kw", "last_updated")


@dataclass(slots=True)
class LocationRows:
    """Full Location records as table columns (name -> one value per row), ready to write.

    Built without the database (`catalogue_locations_prepare`), so a pull can prepare its next
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
        evses = _taken(self.evses, evses_kept)
        evses["location_id"] = [station_at[at] for at in evses["location_id"]]
        connectors = _taken(self.connectors, connectors_kept)
        connectors["evse_id"] = [evse_at[at] for at in connectors["evse_id"]]
        return LocationRows(
            locations=_taken(self.locations, kept),
            evses=evses,
            connectors=connectors,
        )


def _taken(columns: dict[str, list[Any]], indexes: Sequence[int]) -> dict[str, list[Any]]:
    return {name: [values[i] for i in indexes] for name, values in columns.items()}


def _columns(names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> dict[str, list[Any]]:
    """Row tuples (in `names` order) turned into columns."""
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def _location_row(source: str, record: LocationRecord) -> tuple[Any, ...]:
    hours = record.opening_times
    aggregates = _aggregates(record.evses, publish=record.publish, hidden=False)
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
        *(aggregates[name] for name in AGGREGATE_FIELDS),
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


def _connector_row(evse: int, connector: ConnectorRecord) -> tuple[Any, ...]:
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


def _child_columns(
    evses_by_location: Iterable[tuple[int, Sequence[EvseRecord]]],
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """EVSE and connector columns of these stations' EVSEs (a station named by its id, or by
    its index in a page not yet written); a connector names its EVSE by index."""
    evse_rows: list[tuple[Any, ...]] = []
    connector_rows: list[tuple[Any, ...]] = []
    for location, evses in evses_by_location:
        for evse in evses:
            connector_rows += [_connector_row(len(evse_rows), c) for c in evse.connectors]
            evse_rows.append(_evse_row(location, evse))
    return _columns(EVSE_COLUMNS, evse_rows), _columns(CONNECTOR_COLUMNS, connector_rows)


def _validate(record: LocationRecord) -> None:
    if not (-90 <= record.latitude <= 90 and -180 <= record.longitude <= 180):
        raise CatalogueError(
            f"Location {record.id}: coordinates ({record.latitude}, {record.longitude}) "
            "are outside the globe."
        )


def catalogue_locations_prepare(*, source: str, records: Sequence[LocationRecord]) -> LocationRows:
    """The table rows of full Location records, EVSEs and connectors included, for
    `catalogue_locations_write`; reads nothing from the database. Raises CatalogueError for
    impossible coordinates."""
    for record in records:
        _validate(record)
    rows = [_location_row(source, record) for record in records]
    evses, connectors = _child_columns(enumerate(record.evses for record in records))
    return LocationRows(
        locations=_columns(LOCATION_COLUMNS, rows),
        evses=evses,
        connectors=connectors,
    )


def catalogue_locations_upsert(*, source: str, records: Sequence[LocationRecord]) -> UpsertResult:
    """Write full Location objects (a page of a pull, or one pushed PUT), EVSEs and connectors
    included, in a few set-based statements per few thousand records.

    Each record replaces what we hold for its identity unless ours has a later `last_updated`
    (then it is skipped). EVSEs we hold that the record no longer lists become `REMOVED`
    (kept for history); connectors are replaced. A station hidden by `catalogue_hide_missing`
    shows again when a record for it arrives. Raises CatalogueError for impossible
    coordinates, before writing anything.
    """
    rows = catalogue_locations_prepare(source=source, records=records)
    return catalogue_locations_write(source=source, rows=rows)


@transaction.atomic
def catalogue_locations_write(*, source: str, rows: LocationRows) -> UpsertResult:
    """`catalogue_locations_upsert` for records already prepared (see LocationRows)."""
    result = UpsertResult()
    identities = rows.identities
    received = len(identities)
    updated = rows.locations["last_updated"]
    newest: dict[Identity, int] = {}
    for index, key in enumerate(identities):
        if key not in newest or updated[newest[key]] <= updated[index]:
            newest[key] = index
    if not newest:
        return result
    held: dict[Identity, tuple[int, datetime, int]] = {}
    ids = sorted({key[2] for key in newest})
    for start in range(0, len(ids), 2000):
        for pk, cc, party, ocpi_id, stamp, cell in Location.objects.filter(
            source=source, ocpi_id__in=ids[start : start + 2000]
        ).values_list("id", "country_code", "party_id", "ocpi_id", "last_updated", "cell"):
            held[(cc, party, ocpi_id)] = (pk, stamp, cell)
    # Stations we hold are locked in id order, the order every catalogue write locks them in
    # (see catalogue_evse_statuses_update); new ones, which no other writer can be waiting
    # for, come last.
    kept = sorted(
        (
            index
            for key, index in newest.items()
            if key not in held or held[key][1] <= updated[index]
        ),
        key=lambda index: (held.get(identities[index], (math.inf,))[0], index),
    )
    if kept != list(range(received)):
        rows = rows.keeping(kept)
    now = timezone.now()
    written = bulk.upsert(
        Location,
        {**rows.locations, "created_at": [now] * len(kept), "updated_at": [now] * len(kept)},
        unique=("source", "country_code", "party_id", "ocpi_id"),
        update=(*LOCATION_FIELDS, *AGGREGATE_FIELDS, "hidden", "cell", "updated_at"),
        newer_only="last_updated",
    )
    pk_of = {(cc, party, ocpi_id): pk for pk, _source, cc, party, ocpi_id, _ in written}
    result.written = len(pk_of)
    result.skipped_stale = received - len(pk_of)
    result.location_ids = list(pk_of.values())
    if len(pk_of) < len(kept):  # a newer copy was written meanwhile (a push racing a pull)
        rows = rows.keeping([i for i, key in enumerate(rows.identities) if key in pk_of])
    location_pks = [pk_of[key] for key in rows.identities]
    _write_evses(
        {**rows.evses, "location_id": [location_pks[i] for i in rows.evses["location_id"]]},
        rows.connectors,
        replace_all=True,
        created={pk for pk, *_, created in written if created},
    )
    cells = set(rows.locations["cell"]) | {held[key][2] for key in pk_of if key in held}
    _refresh_grid_on_commit(cells)
    return result


def _write_evses(
    evses: dict[str, list[Any]],
    connectors: dict[str, list[Any]],
    *,
    replace_all: bool,
    created: Collection[int] = (),
) -> None:
    """Upsert EVSEs and replace their connectors (columns from `_child_columns`, the EVSEs'
    `location_id` already station ids). With `replace_all`, the given EVSEs are their stations'
    complete list and any other EVSE they had becomes REMOVED. `created` names stations this
    transaction inserted: nobody else can have given them EVSEs, so they skip the lookups."""
    keys = list(zip(evses["location_id"], evses["uid"], strict=True))
    held = _held_evses({location_id for location_id, _ in keys} - set(created))
    pk_of = _upsert_evses(evses, held)
    if replace_all:
        listed = set(keys)
        gone = [
            pk for key, (pk, status, _) in held.items() if key not in listed and status != "REMOVED"
        ]
        now = timezone.now()
        Evse.objects.filter(id__in=gone).update(
            status="REMOVED", status_changed_at=now, last_updated=now
        )
    bulk.delete_where_in(Connector, "evse_id", [pk for key, pk in pk_of.items() if key in held])
    evse_pks = [pk_of[key] for key in keys]
    bulk.insert(Connector, {**connectors, "evse_id": [evse_pks[i] for i in connectors["evse_id"]]})


def _held_evses(location_ids: Collection[int]) -> dict[tuple[int, str], tuple[int, str, datetime]]:
    """(station id, uid) -> (id, status, status_changed_at) of these stations' EVSEs."""
    ids = sorted(location_ids)
    held: dict[tuple[int, str], tuple[int, str, datetime]] = {}
    for start in range(0, len(ids), 2000):
        for pk, location_id, uid, status, changed in Evse.objects.filter(
            location_id__in=ids[start : start + 2000]
        ).values_list("id", "location_id", "uid", "status", "status_changed_at"):
            held[(location_id, uid)] = (pk, status, changed)
    return held


def _upsert_evses(
    evses: dict[str, list[Any]], held: dict[tuple[int, str], tuple[int, str, datetime]]
) -> dict[tuple[int, str], int]:
    """Write EVSEs of stations that may have some already; a status we already hold keeps the
    time it changed. Returns their ids by (station id, uid)."""
    keys = zip(evses["location_id"], evses["uid"], strict=True)
    changed_at = [
        held[key][2] if key in held and held[key][1] == status else stamp
        for key, status, stamp in zip(
            keys, evses["status"], evses["status_changed_at"], strict=True
        )
    ]
    written = bulk.upsert(
        Evse,
        {**evses, "status_changed_at": changed_at},
        unique=("location_id", "uid"),
        update=EVSE_FIELDS,
    )
    return {(location_id, uid): pk for pk, location_id, uid, _ in written}


def _held_location(source: str, country_code: str, party_id: str, location_id: str) -> Location:
    location = (
        Location.objects.select_for_update()
        .filter(
            source=source,
            country_code=country_code.upper(),
            party_id=party_id.upper(),
            ocpi_id=location_id,
        )
        .first()
    )
    if location is None:
        raise CatalogueError(
            f"Unknown location {country_code}/{party_id}/{location_id}: PUT the location first.",
            unknown=True,
        )
    return location


def _touch_parent(location: Location, last_updated: datetime) -> None:
    if last_updated > location.last_updated:
        location.last_updated = last_updated
        Location.objects.filter(id=location.id).update(last_updated=last_updated)


@transaction.atomic
def catalogue_location_patch(
    *,
    source: str,
    country_code: str,
    party_id: str,
    location_id: str,
    last_updated: datetime,
    changes: dict[str, Any],
) -> bool:
    """Apply a PATCH to a Location's own fields (not its EVSEs: those have their own calls).

    `changes` uses the neutral names of LocationRecord's fields (`latitude`/`longitude` for the
    position). Returns False, changing nothing, when ours is newer. Raises CatalogueError for an
    unknown location or a field that cannot be patched.
    """
    location = _held_location(source, country_code, party_id, location_id)
    if last_updated < location.last_updated:
        return False
    renamed = {"latitude": "lat", "longitude": "lon"}
    values = {renamed.get(name, name): value for name, value in changes.items()}
    unknown = set(values) - LOCATION_PATCHABLE - {"lat", "lon"}
    if unknown:
        raise CatalogueError(f"These Location fields cannot be patched: {sorted(unknown)}.")
    old_cell = location.cell
    for name, value in values.items():
        setattr(location, name, value)
    if "opening_times" in values:
        hours = values["opening_times"]
        location.twentyfourseven = not hours or bool(hours.get("twentyfourseven"))
    location.cell = grid.cell_key(location.lat, location.lon)
    location.last_updated = last_updated
    location.save()
    cells = _recompute([location.id]) | {old_cell, location.cell}
    _refresh_grid_on_commit(cells)
    return True


@transaction.atomic
def catalogue_evse_put(
    *, source: str, country_code: str, party_id: str, location_id: str, evse: EvseRecord
) -> bool:
    """Create or replace one EVSE (with its connectors) of a known Location.

    Returns False, changing nothing, when the EVSE we hold is newer. Bumps the Location's
    `last_updated`. Raises CatalogueError(unknown=True) for an unknown location.
    """
    location = _held_location(source, country_code, party_id, location_id)
    held = Evse.objects.filter(location=location, uid=evse.uid).first()
    if held and evse.last_updated < held.last_updated:
        return False
    _write_evses(*_child_columns([(location.id, [evse])]), replace_all=False)
    _touch_parent(location, evse.last_updated)
    _refresh_grid_on_commit(_recompute([location.id]))
    return True


def _held_evse(location: Location, evse_uid: str) -> Evse:
    evse = Evse.objects.select_for_update().filter(location=location, uid=evse_uid).first()
    if evse is None:
        raise CatalogueError(
            f"Unknown EVSE {evse_uid} at location {location.ocpi_id}: PUT the EVSE first.",
            unknown=True,
        )
    return evse


@transaction.atomic
def catalogue_evse_patch(
    *,
    source: str,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    last_updated: datetime,
    changes: dict[str, Any],
) -> bool:
    """Apply a PATCH to one EVSE's fields (status, capabilities, ...), not its connectors.

    Returns False when ours is newer. A status change moves `status_changed_at` and the
    station's availability; the Location's `last_updated` is bumped. Raises CatalogueError for
    an unknown location/EVSE or a field that cannot be patched.
    """
    location = _held_location(source, country_code, party_id, location_id)
    evse = _held_evse(location, evse_uid)
    if last_updated < evse.last_updated:
        return False
    unknown = set(changes) - EVSE_PATCHABLE
    if unknown:
        raise CatalogueError(f"These EVSE fields cannot be patched: {sorted(unknown)}.")
    if "status" in changes and changes["status"] != evse.status:
        evse.status_changed_at = last_updated
    for name, value in changes.items():
        setattr(evse, name, list(value) if isinstance(value, tuple) else value)
    evse.last_updated = last_updated
    evse.save()
    _touch_parent(location, last_updated)
    _refresh_grid_on_commit(_recompute([location.id]))
    return True


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
    Bumps the EVSE's and the Location's `last_updated`."""
    location = _held_location(source, country_code, party_id, location_id)
    evse = _held_evse(location, evse_uid)
    held = Connector.objects.filter(evse=evse, ocpi_id=connector.id).first()
    if held and connector.last_updated < held.last_updated:
        return False
    bulk.upsert(
        Connector,
        _columns(CONNECTOR_COLUMNS, [_connector_row(evse.id, connector)]),
        unique=("evse_id", "ocpi_id"),
        update=(*CONNECTOR_FIELDS, "power_kw", "last_updated"),
    )
    _touch_children_parents(evse, location, connector.last_updated)
    return True


def _touch_children_parents(evse: Evse, location: Location, last_updated: datetime) -> None:
    if last_updated > evse.last_updated:
        Evse.objects.filter(id=evse.id).update(last_updated=last_updated)
    _touch_parent(location, last_updated)
    _refresh_grid_on_commit(_recompute([location.id]))


@transaction.atomic
def catalogue_connector_patch(
    *,
    source: str,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    last_updated: datetime,
    changes: dict[str, Any],
) -> bool:
    """Apply a PATCH to one connector (e.g. new `tariff_ids`). Returns False when ours is
    newer; bumps the EVSE's and Location's `last_updated`. Raises CatalogueError for an unknown
    parent or connector, or a field that cannot be patched."""
    location = _held_location(source, country_code, party_id, location_id)
    evse = _held_evse(location, evse_uid)
    connector = Connector.objects.filter(evse=evse, ocpi_id=connector_id).first()
    if connector is None:
        raise CatalogueError(
            f"Unknown connector {connector_id} on EVSE {evse_uid}: PUT it first.", unknown=True
        )
    if last_updated < connector.last_updated:
        return False
    unknown = set(changes) - CONNECTOR_PATCHABLE
    if unknown:
        raise CatalogueError(f"These Connector fields cannot be patched: {sorted(unknown)}.")
    for name, value in changes.items():
        setattr(connector, name, list(value) if isinstance(value, tuple) else value)
    connector.power_kw = round(
        ConnectorRecord(
            id=connector.ocpi_id,
            standard=connector.standard,
            format=connector.format,
            power_type=connector.power_type,
            max_voltage=connector.max_voltage,
            max_amperage=connector.max_amperage,
            max_electric_power=connector.max_electric_power,
            last_updated=last_updated,
        ).power_kw,
        1,
    )
    connector.last_updated = last_updated
    connector.save()
    _touch_children_parents(evse, location, last_updated)
    return True


@transaction.atomic
def catalogue_evse_statuses_update(
    *, source: str, updates: Sequence[EvseStatusUpdate]
) -> UpsertResult:
    """Apply many EVSE status PATCHes at once (the receiver batches what arrives together).

    For each EVSE the newest update in the batch wins, and only if it is not older than what we
    hold; unknown EVSEs are skipped (counted as stale: the next pull brings them). Costs a
    fixed handful of queries per batch, whatever its size.

    Batches run beside each other (one per Celery worker), beside pull pages and single pushes,
    over the same stations. They wait for each other instead of deadlocking because every
    catalogue write locks rows in one order: a station before its EVSEs, and stations that
    already exist in id order (as `catalogue_locations_write` does). So a batch locks all its
    stations in one statement ordered by id, then their EVSEs ordered by id, and only then
    writes EVSEs and stations' aggregates. One gap remains: a station pushed into existence
    between a pull page's lookup and its write is locked last in that page, out of order.
    Should that ever deadlock, PostgreSQL aborts one side: a batch stays queued and is retried,
    a pull fails (recorded as failed) and the next one redoes the page.
    """
    result = UpsertResult()
    newest: dict[tuple[str, str, str, str], EvseStatusUpdate] = {}
    for update in updates:
        key = (
            update.country_code.upper(),
            update.party_id.upper(),
            update.location_id,
            update.evse_uid,
        )
        if key not in newest or newest[key].last_updated <= update.last_updated:
            newest[key] = update
    if not newest:
        return result
    # Grouped by party so each lookup uses the full (source, cc, party, id) index.
    by_party: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cc, party, location_id, _ in newest:
        by_party[(cc, party)].add(location_id)
    wanted = Q()
    for (cc, party), location_ids in by_party.items():
        wanted |= Q(country_code=cc, party_id=party, ocpi_id__in=location_ids)
    stations = {
        pk: (cc, party, ocpi_id)
        for pk, cc, party, ocpi_id in Location.objects.select_for_update()
        .filter(wanted, source=source)
        .order_by("id")
        .values_list("id", "country_code", "party_id", "ocpi_id")
    }
    evses: list[Evse] = []
    touched: dict[int, datetime] = {}
    for evse in (
        Evse.objects.select_for_update()
        .filter(location_id__in=list(stations), uid__in={key[3] for key in newest})
        .order_by("id")
        .only("id", "location_id", "uid", "status", "status_changed_at", "last_updated")
    ):
        change = newest.get((*stations[evse.location_id], evse.uid))
        if change is None or change.last_updated < evse.last_updated:
            continue
        if change.status != evse.status:
            evse.status_changed_at = change.last_updated
        evse.status = change.status
        evse.last_updated = change.last_updated
        evses.append(evse)
        touched[evse.location_id] = max(
            touched.get(evse.location_id, change.last_updated), change.last_updated
        )
    bulk.update(evses, ["status", "status_changed_at", "last_updated"])
    _refresh_grid_on_commit(_recompute(touched, bump=touched))
    result.written = len(evses)
    result.skipped_stale = len(updates) - len(evses)
    result.location_ids = list(touched)
    return result


# What rows are looked up by: the identities, the map's cells and the search box.
_LOOKUP_COLUMNS: dict[type[models.Model], tuple[str, ...]] = {
    Location: ("source", "country_code", "party_id", "ocpi_id", "cell", "visible", "lat", "lon"),
    Evse: ("location", "uid"),
    Connector: ("evse",),
}


def catalogue_statistics_refresh() -> None:
    """Bring PostgreSQL's statistics of the catalogue's lookup columns up to date, after a bulk
    write.

    Right after a first big pull they describe nearly empty tables, and until autovacuum gets
    round to them (a minute or more) the status batches' lookups are planned as scans: the
    receiver's throughput fell by a fifth in that window. Only the lookup columns: 0.2 s after
    100,000 stations, against 1.1 s for whole tables (autovacuum does the rest later)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    tables = []
    for model, names in _LOOKUP_COLUMNS.items():
        fields: list[Any] = [model._meta.get_field(name) for name in names]
        columns = ", ".join(quote(field.column) for field in fields)
        tables.append(f"{quote(model._meta.db_table)} ({columns})")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(tables)}")
    except DatabaseError as error:  # the data is written; autovacuum gets there later anyway
        logger.warning("catalogue statistics not refreshed: %s", error)


@transaction.atomic
def catalogue_hide_missing(*, source: str, seen: Iterable[Identity], before: datetime) -> int:
    """After a complete (not delta) pull: hide this source's stations the pull did not list.

    `seen` holds (country_code, party_id, id) of every Location in the pull; `before` is when
    the pull started, so a station pushed to us during the pull is kept. Hidden stations leave
    search and the map; a later record for them shows them again. Returns how many were hidden.
    """
    seen_set = {(cc.upper(), party.upper(), ocpi_id) for cc, party, ocpi_id in seen}
    missing = [
        (pk, cell)
        for pk, cc, party, ocpi_id, cell in Location.objects.filter(
            source=source, hidden=False, last_updated__lt=before
        ).values_list("id", "country_code", "party_id", "ocpi_id", "cell")
        if (cc, party, ocpi_id) not in seen_set
    ]
    ids = [pk for pk, _ in missing]
    for start in range(0, len(ids), 5000):
        Location.objects.filter(id__in=ids[start : start + 5000]).update(hidden=True, visible=False)
    _refresh_grid_on_commit({cell for _, cell in missing})
    return len(ids)


# --- tariffs ----------------------------------------------------------------------------


@transaction.atomic
def catalogue_tariffs_upsert(*, source: str, records: Sequence[TariffRecord]) -> UpsertResult:
    """Create or replace tariffs (a pull page or one pushed PUT); older records are skipped.
    The plain-words summary shown in lists is written with each tariff."""
    result = UpsertResult()
    held = {
        (cc, party, ocpi_id): updated
        for cc, party, ocpi_id, updated in Tariff.objects.filter(
            source=source, ocpi_id__in={r.id for r in records}
        ).values_list("country_code", "party_id", "ocpi_id", "last_updated")
    }
    rows: dict[Identity, dict[str, Any]] = {}
    for record in records:
        key = (record.country_code.upper(), record.party_id.upper(), record.id)
        if key in held and held[key] > record.last_updated:
            continue
        if key in rows and rows[key]["last_updated"] > record.last_updated:
            continue
        rows[key] = {
            "source": source,
            "country_code": key[0],
            "party_id": key[1],
            "ocpi_id": record.id,
            "currency": record.currency.upper()[:3],
            "type": record.type,
            "elements": list(record.elements),
            "tariff_alt_text": list(record.tariff_alt_text),
            "tariff_alt_url": record.tariff_alt_url,
            "min_price": record.min_price,
            "max_price": record.max_price,
            "start_date_time": record.start_date_time,
            "end_date_time": record.end_date_time,
            "summary": pricing.describe(list(record.elements), record.currency.upper())[:255],
            "last_updated": record.last_updated,
        }
    written = bulk.upsert(
        Tariff,
        bulk.columns_of(list(rows.values())),
        unique=("source", "country_code", "party_id", "ocpi_id"),
        update=[
            name
            for name in next(iter(rows.values()), {})
            if name not in ("source", "country_code", "party_id", "ocpi_id")
        ],
        newer_only="last_updated",
    )
    result.written = len(written)
    result.skipped_stale = len(records) - len(written)
    return result


@transaction.atomic
def catalogue_tariff_delete(
    *, source: str, country_code: str, party_id: str, tariff_id: str
) -> bool:
    """Delete a tariff (OCPI DELETE). Connectors still naming it show no price. Returns
    whether there was one to delete."""
    deleted, _ = Tariff.objects.filter(
        source=source,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        ocpi_id=tariff_id,
    ).delete()
    return deleted > 0


# --- comments ---------------------------------------------------------------------------

COMMENT_MAX_LENGTH = 1000
COMMENT_RATE = 5  # comments per driver per COMMENT_RATE_WINDOW seconds
COMMENT_RATE_WINDOW = 600


def _clean_comment(text: str, rating: int | None, outcome: str) -> str:
    text = text.strip()
    if not text:
        raise CommentError("Write something about this station before posting.")
    if len(text) > COMMENT_MAX_LENGTH:
        raise CommentError(
            f"Comments are limited to {COMMENT_MAX_LENGTH} characters; yours has {len(text)}."
        )
    if rating is not None and not 1 <= rating <= 5:
        raise CommentError("A rating is a whole number of stars from 1 to 5.")
    if outcome and outcome not in CheckInOutcome.values:
        raise CommentError(f"Check-in outcome must be one of: {', '.join(CheckInOutcome.values)}.")
    return text


@transaction.atomic
def comment_create(
    *,
    location: Location,
    author: User,
    text: str,
    rating: int | None = None,
    outcome: str = "",
) -> Comment:
    """Post a driver's comment on a station, with an optional 1-5 rating and check-in outcome.

    Text is stored as typed (pages escape it and never turn links into anchors). Raises
    CommentError when the text is empty or too long, the rating or outcome is invalid, or the
    driver posted more than COMMENT_RATE comments in the last ten minutes.
    """
    text = _clean_comment(text, rating, outcome)
    key = f"locator:comment-rate:{author.pk}"
    cache.add(key, 0, COMMENT_RATE_WINDOW)
    if cache.incr(key) > COMMENT_RATE:
        raise CommentError(
            "You have posted several comments in the last few minutes; please wait a little."
        )
    return Comment.objects.create(
        location=location, author=author, text=text, rating=rating, outcome=outcome
    )


def _own(comment: Comment, user: User) -> None:
    if comment.author_id != user.pk:
        raise CommentError("You can only change your own comments.")


@transaction.atomic
def comment_update(
    *,
    comment: Comment,
    user: User,
    text: str,
    rating: int | None = None,
    outcome: str = "",
) -> Comment:
    """Edit a comment; only its author may. Same rules as posting (bar the rate limit)."""
    _own(comment, user)
    comment.text = _clean_comment(text, rating, outcome)
    comment.rating = rating
    comment.outcome = outcome
    comment.edited_at = timezone.now()
    comment.save()
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, user: User) -> None:
    """Delete a comment; only its author may (admins hide instead, see comments_hide)."""
    _own(comment, user)
    comment.delete()


@transaction.atomic
def comments_hide(*, comment_ids: Iterable[int], hidden: bool = True) -> int:
    """Hide (or show again) comments, for moderators. Returns how many changed."""
    return (
        Comment.objects.filter(id__in=list(comment_ids))
        .exclude(hidden=hidden)
        .update(hidden=hidden)
    )
