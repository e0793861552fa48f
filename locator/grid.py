"""The precomputed multi-zoom cluster grid.

At zoom z a cell is 90/2**z degrees square (about 64 px on a 256 px tile), so a viewport holds
at most a few hundred cells. Zooms MIN_ZOOM..FINE_ZOOM are precomputed in ClusterCell, per
standard and for all stations; each Location stores its FINE_ZOOM cell key. A cell at zoom z is
the union of four cells at z+1, so after a write only the touched fine cells are re-aggregated
from their stations and each coarser level from its children: a handful of small queries per
batch, however large the catalogue. Above FINE_ZOOM, viewports are small enough for a live
GROUP BY over the (lat, lon) B-tree (see selectors).
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Q, Sum

from locator import bulk
from locator.catalogue import CONNECTOR_STANDARDS, OTHER_STANDARD_BIT
from locator.models import ClusterCell, Location

MIN_ZOOM = 2
FINE_ZOOM = 9
KEY_SHIFT = 16
_STANDARD_BY_BIT = [(1 << i, code) for i, (code, _) in enumerate(CONNECTOR_STANDARDS)] + [
    (1 << OTHER_STANDARD_BIT, "OTHER")
]


def cell_size(zoom: int) -> float:
    """A cell's edge in degrees at this map zoom."""
    return 90.0 / (1 << zoom)


def cell_xy(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    size = cell_size(zoom)
    return math.floor((lon + 180.0) / size), math.floor((lat + 90.0) / size)


def cell_key(lat: float, lon: float) -> int:
    """The FINE_ZOOM cell key stored on Location."""
    x, y = cell_xy(lat, lon, FINE_ZOOM)
    return (x << KEY_SHIFT) | y


def key_xy(key: int) -> tuple[int, int]:
    return key >> KEY_SHIFT, key & ((1 << KEY_SHIFT) - 1)


def standards_in(mask: int) -> list[str]:
    return [code for bit, code in _STANDARD_BY_BIT if mask & bit]


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
    """Recompute every precomputed cell covering these FINE_ZOOM cells, from the stations up.

    Called by locator.services inside the writing transaction, with the old and new cells of
    every station it changed (a moved station leaves one cell and enters another).
    """
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
            .annotate(
                n=Count("id"),
                n_available=Count("id", filter=Q(available_count__gt=0)),
                sum_lat=Sum("lat"),
                sum_lon=Sum("lon"),
                kw=Max("max_power_kw"),
            )
            .order_by()
        )
        for key, mask, available_mask, n, n_available, sum_lat, sum_lon, kw in rows:
            x, y = key_xy(key)
            lat, lon = sum_lat / n, sum_lon / n
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
