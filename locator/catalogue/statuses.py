"""EVSE statuses, the bulk of what partners send: applied many at a time.

`evse_statuses_apply` takes a batch (the status queue's, see status_queue.py) in a fixed
handful of queries, whatever its size.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q

from locator.catalogue import bulk
from locator.catalogue.grid_refresh import grid_refresh_on_commit
from locator.catalogue.records import EvseStatusUpdate, UpsertResult
from locator.catalogue.rules import recompute
from locator.models import Evse, Location

Key = tuple[str, str, str, str]  # COUNTRY_CODE, PARTY_ID, location id, EVSE uid
Written = list[tuple[int, datetime]]  # (station id, the change's last_updated) per EVSE written


@transaction.atomic
def evse_statuses_apply(*, source: str, updates: Sequence[EvseStatusUpdate]) -> UpsertResult:
    """Apply many EVSE status changes at once (a batch of the status queue).

    For each EVSE the newest update in the batch wins, and only if it is not older than what we
    hold; unknown EVSEs are skipped (counted as stale: the next pull brings them). Costs a
    fixed handful of queries per batch, whatever its size: on PostgreSQL the EVSEs are matched,
    checked and written by one set-based statement, with no Python per EVSE.

    Batches run beside each other (one per Celery worker), beside pull pages and single pushes,
    over the same stations. They wait for each other instead of deadlocking because every
    catalogue write locks rows in one order: a station before its EVSEs, and stations that
    already exist in id order (as `locations.locations_write` does). So a batch locks all its
    stations in one statement ordered by id, then their EVSEs ordered by id, and only then
    writes EVSEs and stations' aggregates. One gap remains: a station pushed into existence
    between a pull page's lookup and its write is locked last in that page, out of order.
    Should that ever deadlock, PostgreSQL aborts one side: a batch stays queued and is retried,
    a pull fails (recorded as failed) and the next one redoes the page.
    """
    result = UpsertResult()
    newest: dict[Key, EvseStatusUpdate] = {}
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
    write = _evses_write_sql if connection.vendor == "postgresql" else _evses_write_orm
    evses = write(source, newest)
    touched: dict[int, datetime] = {}
    for location_id, last_updated in evses:
        touched[location_id] = max(touched.get(location_id, last_updated), last_updated)
    grid_refresh_on_commit(recompute(touched, bump=touched))
    result.written = len(evses)
    result.skipped_stale = len(updates) - len(evses)
    result.location_ids = list(touched)
    return result


_LOCATION = Location._meta.db_table
_EVSE = Evse._meta.db_table
# The batch's changes as a table: u(cc, party, location_id, uid, status, last_updated).
_CHANGES = (
    "unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[])"
    " AS u(cc, party, location_id, uid, status, last_updated)"
)
_STATIONS_LOCK = (
    f"SELECT l.id FROM {_LOCATION} l WHERE l.source = %s"  # noqa: S608
    " AND (l.country_code, l.party_id, l.ocpi_id) IN"
    " (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))"
    " ORDER BY l.id FOR UPDATE"
)
# Locks the batch's EVSEs in id order (in the materialized CTE), then writes those whose
# change is not older than what we hold; a changed status restarts its clock.
_EVSES_WRITE = (
    f"WITH target AS MATERIALIZED (SELECT e.id, u.status, u.last_updated FROM {_CHANGES}"  # noqa: S608
    f" JOIN {_LOCATION} l ON l.source = %s AND l.country_code = u.cc"
    " AND l.party_id = u.party AND l.ocpi_id = u.location_id"
    f" JOIN {_EVSE} e ON e.location_id = l.id AND e.uid = u.uid"
    " ORDER BY e.id FOR UPDATE OF e)"
    f" UPDATE {_EVSE} e SET status = t.status, last_updated = t.last_updated,"
    " status_changed_at = CASE WHEN e.status = t.status THEN e.status_changed_at"
    " ELSE t.last_updated END"
    " FROM target t WHERE e.id = t.id AND e.last_updated <= t.last_updated"
    " RETURNING e.location_id, t.last_updated"
)


def _evses_write_sql(source: str, newest: dict[Key, EvseStatusUpdate]) -> Written:
    changes = [
        [key[0] for key in newest],
        [key[1] for key in newest],
        [key[2] for key in newest],
        [key[3] for key in newest],
        [update.status for update in newest.values()],
        [update.last_updated for update in newest.values()],
    ]
    with bulk.server_cursor() as cursor:
        cursor.execute(_STATIONS_LOCK, [source, *changes[:3]])
        cursor.execute(_EVSES_WRITE, [*changes, source])
        return [(location_id, last_updated) for location_id, last_updated in cursor.fetchall()]


def _evses_write_orm(source: str, newest: dict[Key, EvseStatusUpdate]) -> Written:
    """The same through the ORM, for databases other than PostgreSQL (SQLite)."""
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
    written: Written = []
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
        written.append((evse.location_id, change.last_updated))
    bulk.update(evses, ["status", "status_changed_at", "last_updated"])
    return written
