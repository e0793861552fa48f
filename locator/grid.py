"""The map's multi-zoom cluster grid: its geometry, and what a cluster adds up.

At zoom z a cell is 90/2**z degrees square (about 64 px on a 256 px tile), so a viewport holds
at most a few hundred cells. Zooms MIN_ZOOM..FINE_ZOOM are precomputed in ClusterCell, per
standard and for all stations; each Location stores its FINE_ZOOM cell key. The catalogue keeps
the precomputed cells current as it writes (locator.catalogue.grid_refresh); locator.clusters
reads them for the map. Used by both, and by nothing else.
"""

import math

from django.db.models import Avg, Count, Max, Q

MIN_ZOOM = 2
FINE_ZOOM = 9
KEY_SHIFT = 16
# What a cluster of stations shows, for `.annotate(**CLUSTER_TOTALS)` over a GROUP BY: how
# many, how many with an EVSE available, their mean position and the fastest.
CLUSTER_TOTALS = {
    "n": Count("id"),
    "n_available": Count("id", filter=Q(available_count__gt=0)),
    "lat_mean": Avg("lat"),
    "lon_mean": Avg("lon"),
    "kw": Max("max_power_kw"),
}


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
