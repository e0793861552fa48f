"""Keeping the precomputed cluster grid (ClusterCell) current as the catalogue writes.

A cell at zoom z is the union of four cells at z+1, so after a write only the touched fine
cells are re-aggregated from their stations and each coarser level from its children: a
handful of small queries per batch, however large the catalogue. Writers call
`grid_refresh_on_commit` with the cells whose clusters change; with a real worker the refresh
runs in a task at most once a second (see locator.tasks), else in the writing transaction.
"""

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from config.celery import app as celery_app
from config.outbox import task_enqueue
from locator.catalogue import bulk
from locator.catalogue.records import CONNECTOR_STANDARDS, OTHER_STANDARD_BIT
from locator.grid import CLUSTER_TOTALS, FINE_ZOOM, MIN_ZOOM, key_xy
from locator.models import ClusterCell, GridDirtyCell, Location

GRID_LOCK = "locator:grid-refresh-lock"
GRID_REFRESH_SCHEDULED = "locator:grid-refresh-scheduled"
GRID_REFRESH_LAST_SECONDS = "locator:grid-refresh-last-seconds"
GRID_REFRESH_DELAY = 1
GRID_REFRESH_REST = 4
_STANDARD_BY_BIT = [(1 << i, code) for i, (code, _) in enumerate(CONNECTOR_STANDARDS)] + [
    (1 << OTHER_STANDARD_BIT, "OTHER")
]


def grid_refresh_on_commit(cells: set[int]) -> None:
    """Bring the clusters over these cells up to date.

    With a real worker (Celery not eager) the cells are marked dirty in this transaction and
    one task after commit refreshes everything marked so far: a pull of many pages re-reads
    each cell once per refresh instead of once per page, and ingest does not wait for it.
    Eager (embedded default, tests): refreshed here, in the writing transaction."""
    if not cells:
        return
    if celery_app.conf.task_always_eager:
        refresh(cells)
        return
    from locator import tasks  # here, not at the top: the task module imports the catalogue

    bulk.insert(GridDirtyCell, {"cell": sorted(cells)})

    def refresh_soon() -> None:
        # One refresh a second at most, however many pages or pushes commit meanwhile: each
        # refresh takes every cell marked until it starts. So it is queued (config.outbox)
        # after the commit, once per refresh rather than once per write; the cells themselves
        # are marked in the transaction, and the next write queues them if this one cannot
        # (robust: a cache that does not answer costs the map a delay, not the write).
        delay = grid_refresh_delay()
        if cache.add(GRID_REFRESH_SCHEDULED, 1, delay):
            task_enqueue(tasks.catalogue_grid_refresh, countdown=delay)

    transaction.on_commit(refresh_soon, robust=True)


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
    another refresh is running (the caller retries later). Safe to run twice: marks are
    claimed and removed in the same transaction as their refresh; a write meanwhile adds marks
    of its own, which the next refresh takes."""
    if not cache.add(GRID_LOCK, 1, 600):
        return None
    started = time.monotonic()
    try:
        with transaction.atomic():
            marks = list(
                GridDirtyCell.objects.select_for_update(skip_locked=True)
                .order_by("id")
                .values_list("id", "cell")[:limit]
            )
            for start in range(0, len(marks), 5000):
                batch = marks[start : start + 5000]
                GridDirtyCell.objects.filter(id__in=[pk for pk, _ in batch]).delete()
            cells = sorted({cell for _, cell in marks})
            refresh(cells)
        cache.set(GRID_REFRESH_LAST_SECONDS, time.monotonic() - started, 3600)
        return len(cells)
    finally:
        cache.delete(GRID_LOCK)


def catalogue_grid_dirty() -> bool:
    """Whether cells are waiting for a refresh (marked while the last one ran)."""
    return GridDirtyCell.objects.exists()


@dataclass(slots=True)
class CellSum:
    count: int = 0
    available: int = 0
    sum_lat: float = 0.0
    sum_lon: float = 0.0
    max_power_kw: float = 0.0

    def add(self, count: int, available: int, lat: float, lon: float, kw: float) -> None:
        self.count += count
        self.available += available
        self.sum_lat += lat * count
        self.sum_lon += lon * count
        self.max_power_kw = max(self.max_power_kw, kw)


Cells = dict[tuple[str, int, int], CellSum]


def refresh(fine_keys: Iterable[int]) -> None:
    """Recompute every precomputed cell covering these FINE_ZOOM cells, from the stations up,
    with the old and new cells of every station a write changed (a moved station leaves one
    cell and enters another)."""
    keys = set(fine_keys)
    if not keys:
        return
    key_list = sorted(keys)
    cells: Cells = defaultdict(CellSum)
    for start in range(0, len(key_list), 2000):
        # Stations in a cell share few (standards, available standards) combinations, so the
        # database sums per combination and Python only spreads each sum over its standards.
        rows = (
            Location.objects.filter(visible=True, cell__in=key_list[start : start + 2000])
            .values_list("cell", "standards_mask", "available_mask")
            .annotate(**CLUSTER_TOTALS)
            .order_by()
        )
        for key, mask, available_mask, n, n_available, lat, lon, kw in rows:
            x, y = key_xy(key)
            cells[("", x, y)].add(n, n_available, lat, lon, kw)
            for bit, code in _STANDARD_BY_BIT:
                if mask & bit:
                    cells[(code, x, y)].add(n, n if available_mask & bit else 0, lat, lon, kw)
    touched = {key_xy(key) for key in keys}
    _replace(FINE_ZOOM, touched, cells)
    for zoom in range(FINE_ZOOM - 1, MIN_ZOOM - 1, -1):
        parents = {(x >> 1, y >> 1) for x, y in touched}
        cells = _children_sums(zoom + 1, parents)
        _replace(zoom, parents, cells)
        touched = parents


def _children_sums(child_zoom: int, parents: set[tuple[int, int]]) -> Cells:
    sums: Cells = defaultdict(CellSum)
    xs = sorted({x for x, _ in parents})
    for start in range(0, len(xs), 500):
        chunk = xs[start : start + 500]
        ys = [y for x, y in parents if chunk[0] <= x <= chunk[-1]]
        rows = ClusterCell.objects.filter(
            zoom=child_zoom,
            x__gte=chunk[0] * 2,
            x__lte=chunk[-1] * 2 + 1,
            y__gte=min(ys) * 2,
            y__lte=max(ys) * 2 + 1,
        ).values_list("standard", "x", "y", "count", "available", "lat", "lon", "max_power_kw")
        for standard, x, y, count, available, lat, lon, kw in rows.iterator(chunk_size=5000):
            parent = (x >> 1, y >> 1)
            if parent in parents:
                sums[(standard, *parent)].add(count, available, lat, lon, kw)
    return sums


def _replace(zoom: int, touched: set[tuple[int, int]], cells: Cells) -> None:
    rows = [
        {
            "zoom": zoom,
            "standard": standard,
            "x": x,
            "y": y,
            "count": s.count,
            "available": s.available,
            "lat": s.sum_lat / s.count,
            "lon": s.sum_lon / s.count,
            "max_power_kw": s.max_power_kw,
        }
        for (standard, x, y), s in cells.items()
        if s.count
    ]
    kept = {(row["standard"], row["x"], row["y"]) for row in rows}
    bulk.upsert(
        ClusterCell,
        bulk.columns_of(rows),
        unique=("zoom", "standard", "x", "y"),
        update=("count", "available", "lat", "lon", "max_power_kw"),
        returning=False,
    )
    # Cells left empty (every station moved away or hidden) go.
    xs = sorted({x for x, _ in touched})
    for start in range(0, len(xs), 500):
        stale = ClusterCell.objects.filter(zoom=zoom, x__in=xs[start : start + 500]).values_list(
            "id", "standard", "x", "y"
        )
        ids = [pk for pk, std, x, y in stale if (x, y) in touched and (std, x, y) not in kept]
        if ids:
            ClusterCell.objects.filter(id__in=ids).delete()


def rebuild() -> None:
    """Recompute the whole grid (after a bulk load or to repair it)."""
    ClusterCell.objects.all().delete()
    refresh(Location.objects.filter(visible=True).values_list("cell", flat=True).distinct())
