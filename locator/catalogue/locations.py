"""Bulk writes of full Location objects (a pull's pages, a pushed PUT), and what follows a
pull: hiding what a full pull no longer lists, refreshing the planner's statistics.

A few set-based statements per few thousand records (see bulk.py), rows prepared beforehand
without the database (rows.py), the rules of rules.py kept throughout.
"""

import logging
import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from locator.catalogue import bulk
from locator.catalogue.grid_refresh import grid_refresh_on_commit
from locator.catalogue.records import LocationRecord, UpsertResult
from locator.catalogue.rows import LocationRows, columns_taken, locations_prepare
from locator.catalogue.rules import AGGREGATE_FIELDS, EVSE_FIELDS, LOCATION_FIELDS, Identity
from locator.models import Connector, Evse, Location

logger = logging.getLogger(__name__)

T = TypeVar("T")
Carried = TypeVar("Carried")


class ReadAhead(Protocol):
    """Yields the items of an iterator, in order, working ahead of its caller (for example
    in another process)."""

    def __call__(self, items: Iterator[T], /) -> Iterator[T]: ...


def catalogue_locations_pull(
    *,
    source: str,
    pages: Iterator[tuple[Sequence[LocationRecord], Carried]],
    ahead: ReadAhead,
) -> Iterator[tuple[UpsertResult, Carried]]:
    """Write a pull's pages of full Location records, one transaction a page, as
    `catalogue_locations_upsert` does; yields each page's result with what the caller sent
    along with the page (say, the objects it skipped). A result's `identities` name every
    station of the page, for `catalogue_hide_missing`.

    The pages are read and turned into table rows ahead of the writes, through `ahead`
    (roaming's read_ahead does that in another process, so a pull keeps two cores busy). A
    page with impossible coordinates raises CatalogueError; the pages before it stay written.
    """
    prepared = (
        (locations_prepare(source=source, records=records), carried) for records, carried in pages
    )
    for rows, carried in ahead(prepared):
        yield locations_write(source=source, rows=rows), carried


def catalogue_locations_upsert(*, source: str, records: Sequence[LocationRecord]) -> UpsertResult:
    """Write full Location objects (a page of a pull, or one pushed PUT), EVSEs and connectors
    included, in a few set-based statements per few thousand records.

    Each record replaces what we hold for its identity unless ours has a later `last_updated`
    (then it is skipped). EVSEs we hold that the record no longer lists become `REMOVED`
    (kept for history); connectors are replaced. A station hidden by `catalogue_hide_missing`
    shows again when a record for it arrives. Raises CatalogueError for impossible
    coordinates, before writing anything.
    """
    rows = locations_prepare(source=source, records=records)
    return locations_write(source=source, rows=rows)


@transaction.atomic
def locations_write(*, source: str, rows: LocationRows) -> UpsertResult:
    """`catalogue_locations_upsert` for records already prepared (see LocationRows)."""
    identities = rows.identities
    result = UpsertResult(identities=identities)
    received = len(identities)
    updated = rows.locations["last_updated"]
    newest: dict[Identity, int] = {}
    for index, key in enumerate(identities):
        if key not in newest or updated[newest[key]] <= updated[index]:
            newest[key] = index
    if not newest:
        return result
    held: dict[Identity, tuple[int, datetime, int]] = {
        (cc, party, ocpi_id): (pk, stamp, cell)
        for pk, cc, party, ocpi_id, stamp, cell in bulk.rows_where_in(
            Location,
            "ocpi_id",
            {key[2] for key in newest},
            ("id", "country_code", "party_id", "ocpi_id", "last_updated", "cell"),
            source=source,
        )
    }
    # Stations we hold are locked in id order, the order every catalogue write locks them in
    # (see statuses.evse_statuses_apply); new ones, which no other writer can be waiting
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
        update=(*LOCATION_FIELDS, *AGGREGATE_FIELDS, "hidden", "cell", "search_key", "updated_at"),
        newer_only="last_updated",
    )
    pk_of = {(cc, party, ocpi_id): pk for pk, _source, cc, party, ocpi_id, _ in written}
    result.written = len(pk_of)
    result.skipped_stale = received - len(pk_of)
    result.location_ids = list(pk_of.values())
    if len(pk_of) < len(kept):  # a newer copy was written meanwhile (a push racing a pull)
        rows = rows.keeping([i for i, key in enumerate(rows.identities) if key in pk_of])
    location_pks = [pk_of[key] for key in rows.identities]
    evses_write(
        {**rows.evses, "location_id": [location_pks[i] for i in rows.evses["location_id"]]},
        rows.connectors,
        replace_all=True,
        created={pk for pk, *_, created in written if created},
    )
    cells = set(rows.locations["cell"]) | {held[key][2] for key in pk_of if key in held}
    grid_refresh_on_commit(cells)
    return result


def evses_write(
    evses: dict[str, list[Any]],
    connectors: dict[str, list[Any]],
    *,
    replace_all: bool,
    created: Collection[int] = (),
) -> None:
    """Upsert EVSEs and replace their connectors (columns from `rows.child_columns`, the EVSEs'
    `location_id` already station ids). With `replace_all`, the given EVSEs are their stations'
    complete list and any other EVSE they had becomes REMOVED. `created` names stations this
    transaction inserted: nobody else can have given them EVSEs, so they skip the lookups."""
    keys = list(zip(evses["location_id"], evses["uid"], strict=True))
    held = _held_evses({location_id for location_id, _ in keys} - set(created))
    # The EVSEs of stations this transaction created are new: inserted without conflict checks.
    new = [index for index, (location_id, _) in enumerate(keys) if location_id in created]
    new_pks = bulk.insert_returning_ids(Evse, columns_taken(evses, new))
    pk_of = dict(zip([keys[i] for i in new], new_pks, strict=True))
    if len(new) < len(keys):
        rest = sorted(set(range(len(keys))) - set(new))
        pk_of.update(_upsert_evses(columns_taken(evses, rest), held))
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
    rows = bulk.rows_where_in(
        Evse,
        "location_id",
        location_ids,
        ("id", "location_id", "uid", "status", "status_changed_at"),
    )
    return {
        (location_id, uid): (pk, status, changed) for pk, location_id, uid, status, changed in rows
    }


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
        Location.objects.filter(id__in=ids[start : start + 5000]).update(
            hidden=True, visible=False, restricted=False
        )
    grid_refresh_on_commit({cell for _, cell in missing})
    return len(ids)
