"""What the map shows of a viewport: clusters when zoomed out, stations when zoomed in.

Zoomed out, clusters come from the precomputed grid (locator.grid) when the filters allow, else
from a live GROUP BY over the (lat, lon) B-tree of visible stations. Called by locator's API.
"""

import math
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.functions import Floor
from django.utils import timezone

from locator.grid import CLUSTER_TOTALS, FINE_ZOOM, MIN_ZOOM, cell_size, cell_xy
from locator.models import ClusterCell
from locator.selectors import (
    MAX_ITEMS,
    BBox,
    StationFilters,
    open_now_rows,
    station_search,
    stations_filtered,
)

STATION_ZOOM = 14  # from here on the map always shows stations


def _grid_zoom(bbox: BBox, zoom: int) -> int:
    # The finest precomputed zoom not above the asked one whose cells in this viewport stay
    # under MAX_ITEMS-ish (a client may send a huge box with a high zoom).
    z = max(MIN_ZOOM, min(zoom, FINE_ZOOM))
    while z > MIN_ZOOM:
        size = cell_size(z)
        if ((bbox.max_lon - bbox.min_lon) / size + 1) * (
            (bbox.max_lat - bbox.min_lat) / size + 1
        ) <= 4 * MAX_ITEMS:
            break
        z -= 1
    return z


def station_map(*, bbox: BBox, zoom: int, filters: StationFilters) -> dict[str, Any]:
    """What the map shows for a viewport: `{"kind": "clusters", "items": [{lat, lon, count,
    available, max_power_kw}]}` when zoomed out, `{"kind": "stations", "items": [...]}` when
    zoomed in or when few stations are in view. Never more than MAX_ITEMS items."""
    now = timezone.now()
    if zoom >= STATION_ZOOM:
        page = station_search(filters=filters, bbox=bbox, limit=MAX_ITEMS)
        if not page.has_more:
            return {"kind": "stations", "items": page.results}
    standard = filters.grid_standard
    if standard is not None and zoom <= FINE_ZOOM:
        return {
            "kind": "clusters",
            "items": _grid_clusters(bbox, zoom, standard, filters.available),
        }
    clusters = _live_clusters(bbox, zoom, filters, now)
    if sum(c["count"] for c in clusters) <= MAX_ITEMS // 2:
        page = station_search(filters=filters, bbox=bbox, limit=MAX_ITEMS)
        return {"kind": "stations", "items": page.results}
    return {"kind": "clusters", "items": clusters}


def _grid_clusters(bbox: BBox, zoom: int, standard: str, available: bool) -> list[dict[str, Any]]:
    z = _grid_zoom(bbox, zoom)
    x0, y0 = cell_xy(bbox.min_lat, bbox.min_lon, z)
    x1, y1 = cell_xy(bbox.max_lat, bbox.max_lon, z)
    # Plain SQL: the ORM built this one statement anew each request (about 0.5 ms of CPU).
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lat, lon, {quote('count')}, available, max_power_kw"  # noqa: S608 (no input)
            f" FROM {ClusterCell._meta.db_table}"
            " WHERE zoom = %s AND standard = %s AND x BETWEEN %s AND %s AND y BETWEEN %s AND %s"
            f"{' AND available > 0' if available else ''}"
            f" ORDER BY {quote('count')} DESC LIMIT %s",
            [z, standard, x0, x1, y0, y1, MAX_ITEMS],
        )
        cells = cursor.fetchall()
    return [
        {
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "count": available_n if available else count,
            "available": available_n,
            "max_power_kw": kw,
        }
        for lat, lon, count, available_n, kw in cells
    ]


def _live_clusters(
    bbox: BBox, zoom: int, filters: StationFilters, now: datetime
) -> list[dict[str, Any]]:
    size = cell_size(_grid_zoom(bbox, max(zoom, MIN_ZOOM)) if zoom <= FINE_ZOOM else zoom)
    while ((bbox.max_lon - bbox.min_lon) / size + 1) * (
        (bbox.max_lat - bbox.min_lat) / size + 1
    ) > 4 * MAX_ITEMS:
        size *= 2
    qs = stations_filtered(bbox, filters)
    if filters.open_now:
        # Hours need each station's zone: cluster in Python (slower; only with this filter).
        sums: dict[tuple[int, int], list[float]] = {}
        for row in open_now_rows(
            qs.values(
                "lat",
                "lon",
                "available_count",
                "max_power_kw",
                "opening_times",
                "time_zone",
                "twentyfourseven",
            ).iterator(),
            now,
        ):
            key = (math.floor(row["lat"] / size), math.floor(row["lon"] / size))
            entry = sums.setdefault(key, [0, 0, 0.0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += 1 if row["available_count"] else 0
            entry[2] += row["lat"]
            entry[3] += row["lon"]
            entry[4] = max(entry[4], row["max_power_kw"])
        rows = [(n, a, la / n, lo / n, kw) for n, a, la, lo, kw in sums.values()]
    else:
        rows = list(
            qs.annotate(gy=Floor(F("lat") / size), gx=Floor(F("lon") / size))
            .values("gy", "gx")
            .annotate(**CLUSTER_TOTALS)
            .order_by()
            .values_list(*CLUSTER_TOTALS)
        )
    rows.sort(key=lambda r: -r[0])
    return [
        {"lat": round(la, 5), "lon": round(lo, 5), "count": n, "available": a, "max_power_kw": kw}
        for n, a, la, lo, kw in rows[:MAX_ITEMS]
    ]
