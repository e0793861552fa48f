"""Reads from the station catalogue for drivers: search, station details, comments.

A search is one statement (`search_statement`): on PostgreSQL it reads stations nearest first
on a GiST of Mercator points and stops after the page, on SQLite it sorts the box read on the
(lat, lon) B-tree; it filters on the aggregate columns the write path keeps, so no query here
touches EVSE rows except a single station's page. On PostgreSQL it runs prepared
(config.db.base.statement_cursor): planning it cost half what running it does, and its text
is the same for every search with the same filters, so each connection plans it once. Rows
become list entries in locator.summaries; the map's clusters are read in locator.clusters.
Called by locator's API and pages.
"""

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import (
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.db.base import statement_cursor
from locator import hours
from locator.catalogue import standard_bit
from locator.models import Comment, Favourite, Location
from locator.summaries import station_summaries

KM_PER_DEGREE = 111.195
MAX_ITEMS = 300  # never more than this many clusters or stations in one map answer
LIST_FIELDS = (
    "id",
    "source",
    "country_code",
    "party_id",
    "name",
    "address",
    "city",
    "postal_code",
    "lat",
    "lon",
    "operator_name",
    "max_power_kw",
    "connector_counts",
    "evse_count",
    "available_count",
    "out_of_order_count",
    "status_at",
    "remote_start",
    "tariff_id",
    "tariff_ids",
    "opening_times",
    "time_zone",
    "twentyfourseven",
)


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.min_lat + self.max_lat) / 2, (self.min_lon + self.max_lon) / 2

    @classmethod
    def around(cls, lat: float, lon: float, radius_km: float) -> "BBox":
        dlat = radius_km / KM_PER_DEGREE
        dlon = radius_km / (KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
        return cls(
            max(-180.0, lon - dlon),
            max(-90.0, lat - dlat),
            min(180.0, lon + dlon),
            min(90.0, lat + dlat),
        )


@dataclass(frozen=True, slots=True)
class StationFilters:
    standards: tuple[str, ...] = ()
    min_power_kw: float | None = None
    available: bool = False
    operator: str = ""
    open_now: bool = False
    remote_start: bool = False
    # Restricted stations this viewer may see besides the visible ones (locator.audience).
    restricted_ids: frozenset[int] = frozenset()

    @property
    def grid_standard(self) -> str | None:
        """The precomputed grid's `standard` key answering these filters, or None when the
        grid cannot (it holds per-standard sums, not kW, operator, hours or unions)."""
        if self.min_power_kw or self.operator or self.open_now or self.remote_start:
            return None
        if len(self.standards) > 1:
            return None
        return self.standards[0] if self.standards else ""


@dataclass(slots=True)
class SearchPage:
    results: list[dict[str, Any]]
    has_more: bool


def distances_km(lat: float, lon: float, rows: Iterable[dict[str, Any]]) -> Iterator[float]:
    """The great-circle distance (haversine) from (lat, lon) to each row's station, in km."""
    p1, l1 = math.radians(lat), math.radians(lon)
    cos_p1 = math.cos(p1)
    for row in rows:
        p2 = math.radians(row["lat"])
        dl = math.radians(row["lon"]) - l1
        a = math.sin((p2 - p1) / 2) ** 2 + cos_p1 * math.cos(p2) * math.sin(dl / 2) ** 2
        yield 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def shown(restricted_ids: frozenset[int]) -> Q:
    """The stations a viewer may see: the visible ones, and the restricted ones named."""
    return Q(visible=True) | Q(id__in=restricted_ids) if restricted_ids else Q(visible=True)


def stations_filtered(bbox: BBox, filters: StationFilters) -> QuerySet[Location]:
    qs = Location.objects.filter(
        shown(filters.restricted_ids),
        lat__gte=bbox.min_lat,
        lat__lte=bbox.max_lat,
        lon__gte=bbox.min_lon,
        lon__lte=bbox.max_lon,
    )
    if filters.standards:
        bits = 0
        for standard in filters.standards:
            bits |= standard_bit(standard)
        qs = qs.filter(
            **{"available_mask__hasany" if filters.available else "standards_mask__hasany": bits}
        )
    elif filters.available:
        qs = qs.filter(available_count__gt=0)
    if filters.min_power_kw:
        qs = qs.filter(max_power_kw__gte=filters.min_power_kw)
    if filters.operator:
        qs = qs.filter(operator_name__iexact=filters.operator)
    if filters.remote_start:
        qs = qs.filter(remote_start=True)
    return qs


def open_now_rows(rows: Iterable[Any], now: datetime) -> Iterable[dict[str, Any]]:
    for row in rows:
        if row["twentyfourseven"] or hours.is_open(row["opening_times"], row["time_zone"], now):
            yield row


# Where migration 0013's GiST puts a station: its Mercator point in degrees (x the longitude,
# y stretched by 1/cos(latitude) as longitude degrees shrink), so distances there order
# stations as the ground does, up to the scale's change with latitude. Keep it the migration's.
MERCATOR_POINT = "point(lon, degrees(asinh(tan(radians(lat)))))"
HOT_FIELDS = tuple(
    f for f in LIST_FIELDS if f not in ("opening_times", "time_zone", "twentyfourseven")
)


def mercator_y(lat: float) -> float:
    return math.degrees(math.asinh(math.tan(math.radians(lat))))


@dataclass(frozen=True, slots=True)
class SearchArea:
    """Where a search looks (`box`), from where it orders (`lat`, `lon`), and for a point search
    how far (`max_d2`, in squared degrees of latitude)."""

    box: BBox
    lat: float
    lon: float
    max_d2: float | None = None

    @classmethod
    def of(
        cls, *, bbox: BBox | None, point: tuple[float, float] | None, radius_km: float
    ) -> "SearchArea":
        if point is None:
            assert bbox is not None
            return cls(bbox, *bbox.centre)
        lat, lon = point
        return cls(BBox.around(lat, lon, radius_km), lat, lon, (radius_km / KM_PER_DEGREE) ** 2)

    @property
    def k(self) -> float:
        """How long a degree of longitude is on the ground at the centre, in degrees of latitude."""
        return max(0.01, math.cos(math.radians(self.lat)))

    @property
    def d2_params(self) -> list[float]:
        return [self.lat, self.lat, self.lon, self.k, self.lon, self.k]

    def d2(self, row: dict[str, Any]) -> float:
        d2: float = (row["lat"] - self.lat) ** 2 + ((row["lon"] - self.lon) * self.k) ** 2
        return d2

    @property
    def mercator_stretch(self) -> float:
        """How much farther, at most, a station may lie on the Mercator plane than the ground
        distance says, relative to another station of this box: ground over Mercator distance
        lies between the least and the greatest cos(latitude) over the box (and the centre's,
        which weighs the longitudes in `d2`)."""
        lows = [abs(self.box.min_lat), abs(self.box.max_lat)]
        nearest = 0.0 if self.box.min_lat <= 0 <= self.box.max_lat else min(lows)
        cos_low = min(self.k, math.cos(math.radians(max(lows))))
        cos_high = max(self.k, math.cos(math.radians(nearest)))
        return cos_high / max(cos_low, 1e-6)


Scope = tuple[str, list[Any]]  # which stations: an SQL condition and its parameters
VISIBLE: Scope = ("visible", [])


def _scopes(filters: StationFilters) -> list[Scope]:
    """The visible stations, and apart (an OR with `visible` would lose the partial indexes)
    the restricted ones this viewer may see."""
    if not filters.restricted_ids:
        return [VISIBLE]
    ids = sorted(filters.restricted_ids)
    return [VISIBLE, (f"id IN ({', '.join(['%s'] * len(ids))})", ids)]


def _matching(area: SearchArea, filters: StationFilters, scope: Scope) -> tuple[str, list[Any]]:
    """The condition a station of `scope` meets to be found in `area` (bar open_now): within
    the box on the GiST of Mercator points (PostgreSQL) or the (lat, lon) B-tree (SQLite),
    with bound literals so the planner picks the partial indexes."""
    where = [scope[0]]
    params = list(scope[1])
    box = area.box
    if connection.vendor == "postgresql":
        where.append(f"{MERCATOR_POINT} <@ box(point(%s, %s), point(%s, %s))")
        params += [box.min_lon, mercator_y(box.min_lat), box.max_lon, mercator_y(box.max_lat)]
    else:
        where += ["lat >= %s", "lat <= %s", "lon >= %s", "lon <= %s"]
        params += [box.min_lat, box.max_lat, box.min_lon, box.max_lon]
    if filters.standards:
        bits = 0
        for standard in filters.standards:
            bits |= standard_bit(standard)
        where.append(f"({'available_mask' if filters.available else 'standards_mask'} & %s) <> 0")
        params.append(bits)
    elif filters.available:
        where.append("available_count > 0")
    if filters.min_power_kw:
        where.append("max_power_kw >= %s")
        params.append(filters.min_power_kw)
    if filters.operator:
        where.append("UPPER(operator_name) = UPPER(%s)")
        params.append(filters.operator)
    if filters.remote_start:
        where.append("remote_start")
    if area.max_d2 is not None:
        where.append(f"{GROUND_D2} <= %s")
        params += [*area.d2_params, area.max_d2]
    return " AND ".join(where), params


# Squared ground distance from the centre in degrees of latitude (equirectangular: exact
# enough within a region, and no trigonometry per row); parameters `SearchArea.d2_params`.
GROUND_D2 = "((lat - %s) * (lat - %s) + ((lon - %s) * %s) * ((lon - %s) * %s))"
TABLE = Location._meta.db_table


def search_statement(
    area: SearchArea, filters: StationFilters, rows: int, scope: Scope = VISIBLE
) -> tuple[str, list[Any]]:
    """The search as one statement: the `rows` stations of `scope` nearest the centre in the
    area that pass the filters (bar open_now), ordered by ground distance, then id.

    On PostgreSQL it reads nearest first on the GiST of Mercator points and stops after `rows`
    matches, so its work follows the page, not how many stations a dense city packs into the
    box: a KNN scan finds the `rows` nearest on the Mercator plane, and a second scan takes
    every station within that distance times `mercator_stretch` (the ground's nearest `rows`
    all lie there) and orders them by ground distance. SQLite orders the box's stations."""
    condition, params = _matching(area, filters, scope)
    columns = _columns(LIST_FIELDS if filters.open_now else HOT_FIELDS)
    order = f" ORDER BY {GROUND_D2}, id LIMIT %s"
    if connection.vendor != "postgresql":
        sql = f"SELECT {columns} FROM {TABLE} WHERE {condition}{order}"  # noqa: S608
        return sql, [*params, *area.d2_params, rows]
    centre = [area.lon, mercator_y(area.lat)]
    nearest = f"{MERCATOR_POINT} <-> point(%s, %s)"
    sql = (
        f"WITH knn AS (SELECT {nearest} AS far FROM {TABLE} WHERE {condition}"  # noqa: S608
        f" ORDER BY {nearest} LIMIT %s)"
        f" SELECT {columns} FROM {TABLE} WHERE {condition}"
        f" AND {MERCATOR_POINT} <@ circle(point(%s, %s), (SELECT max(far) FROM knn) * %s)"
        f"{order}"
    )
    return sql, [
        *centre,
        *params,
        *centre,
        rows,
        *params,
        *centre,
        area.mercator_stretch,
        *area.d2_params,
        rows,
    ]


@functools.cache
def _columns(fields: tuple[str, ...]) -> str:
    return ", ".join(connection.ops.quote_name(f) for f in fields)


def _search_rows(area: SearchArea, filters: StationFilters, rows: int) -> list[dict[str, Any]]:
    """The first `rows` rows of `search_statement`, as dicts, over every scope the viewer
    may see (merged by distance)."""
    scopes = _scopes(filters)
    fields = LIST_FIELDS if filters.open_now else HOT_FIELDS
    found = []
    for scope in scopes:
        with statement_cursor(connection) as cursor:  # planned once per connection and shape
            cursor.execute(*search_statement(area, filters, rows, scope))
            found += [dict(zip(fields, row, strict=True)) for row in cursor.fetchall()]
    if len(scopes) > 1:
        found = sorted(found, key=lambda row: (area.d2(row), row["id"]))[:rows]
    # A raw cursor skips Django's converters: JSON arrives as text (Django registers jsonb as
    # text), and SQLite's datetimes without a zone.
    for row in found:
        for name in ("connector_counts", "tariff_ids", "opening_times"):
            if isinstance(row.get(name), str):
                row[name] = orjson.loads(row[name])
        status_at = row["status_at"]
        if isinstance(status_at, str):
            status_at = parse_datetime(status_at)
        if status_at is not None and status_at.tzinfo is None:
            status_at = status_at.replace(tzinfo=UTC)
        row["status_at"] = status_at
        row["remote_start"] = bool(row["remote_start"])
        if filters.open_now:
            row["twentyfourseven"] = bool(row["twentyfourseven"])
    return found


def station_search(
    *,
    filters: StationFilters,
    bbox: BBox | None = None,
    point: tuple[float, float] | None = None,
    radius_km: float = 10.0,
    limit: int = 50,
    offset: int = 0,
) -> SearchPage:
    """Stations near a point (within `radius_km`, nearest first, with `distance_km`) or in a
    viewport (nearest its centre first). One query for the page plus one for its prices."""
    now = timezone.now()
    area = SearchArea.of(bbox=bbox, point=point, radius_km=radius_km)
    wanted = offset + limit + 1
    if filters.open_now:
        # Hours live in each station's time zone: filter in Python, reading further until the
        # page is full (closed stations are a minority, so this rarely reads much more).
        read = max(2 * wanted, 100)
        while True:
            found = _search_rows(area, filters, read)
            rows = list(open_now_rows(found, now))
            if len(rows) >= wanted or len(found) < read:
                break
            read *= 4
        rows = rows[offset:wanted]
    else:
        rows = _search_rows(area, filters, wanted)[offset:]
    has_more = len(rows) > limit
    rows = rows[:limit]
    results = station_summaries(rows, now)
    if point is not None:
        for result, km in zip(results, distances_km(area.lat, area.lon, rows), strict=True):
            result["distance_km"] = round(km, 2)
    return SearchPage(results=results, has_more=has_more)


def station_count(*, filters: StationFilters, bbox: BBox, cap: int) -> int:
    """How many stations in `bbox` match, counted up to `cap + 1` (a list says "cap+"): the
    search's own condition, so the count agrees with the list, read on the same index."""
    if filters.open_now:
        rows = stations_filtered(bbox, filters).values(
            "opening_times", "time_zone", "twentyfourseven"
        )[: cap * 4]
        return min(cap + 1, sum(1 for _ in open_now_rows(rows.iterator(), timezone.now())))
    area = SearchArea.of(bbox=bbox, point=None, radius_km=0)
    total = 0
    for scope in _scopes(filters):
        condition, params = _matching(area, filters, scope)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {condition} LIMIT %s) AS found",  # noqa: S608
                [*params, cap + 1],
            )
            total += cursor.fetchone()[0]
    return min(total, cap + 1)


def station_comments(*, location: Location) -> QuerySet[Comment]:
    """A station's visible comments, newest first."""
    return (
        Comment.objects.filter(location=location, hidden=False)
        .select_related("author__driver_profile")
        .order_by("-created_at", "-id")
    )


def own_comment(
    *, user: User | AnonymousUser, station_id: int, comment_id: int, hidden: bool = False
) -> Comment:
    """The user's own comment on that station, else Http404: to anyone else it is not there
    to change, as with every object a driver owns. `hidden=True` finds hidden ones too."""
    comments = Comment.objects.filter(author_id=user.pk, location_id=station_id)
    return get_object_or_404(comments if hidden else comments.filter(hidden=False), id=comment_id)


def operators_list() -> list[str]:
    """Operator names drivers can filter by."""
    return list(
        Location.objects.filter(visible=True)
        .exclude(operator_name="")
        .values_list("operator_name", flat=True)
        .distinct()
        .order_by("operator_name")[:200]
    )


def favourite_ids(*, user: Any) -> list[int]:
    """The ids of the stations this driver starred (none when signed out)."""
    if not user.is_authenticated:
        return []
    return list(Favourite.objects.filter(user=user).values_list("location_id", flat=True))


def favourite_stations(*, user: Any, restricted_ids: frozenset[int]) -> list[dict[str, Any]]:
    """This driver's starred stations that it may see (visible, or one of `restricted_ids`,
    from locator.audience) as list rows (live status and price), most recently starred first."""
    order = {
        location_id: rank
        for rank, location_id in enumerate(
            Favourite.objects.filter(user=user)
            .order_by("-created_at", "-id")
            .values_list("location_id", flat=True)
        )
    }
    rows = list(
        Location.objects.filter(shown(restricted_ids), id__in=list(order)).values(*LIST_FIELDS)
    )
    rows.sort(key=lambda row: order[row["id"]])
    now = timezone.now()
    return station_summaries(rows, now)
