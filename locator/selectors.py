"""Reads from the station catalogue for drivers: search, station details, comments.

Every search starts from a bounding box on an index of visible stations (a GiST of points on
PostgreSQL, the (lat, lon) B-tree on SQLite), with literal coordinates (a derived centre made
the planner scan), then filters on the aggregate columns the write path keeps: no query here
touches EVSE rows except a single station's page. The map's clusters are read in locator.grid.
Called by locator's API and pages.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from locator import hours, live, pricing
from locator.catalogue import standard_bit, standard_label
from locator.models import Comment, Favourite, Location, Tariff

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


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


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


def _distance_order(qs: QuerySet[Location], lat: float, lon: float) -> QuerySet[Location]:
    # Equirectangular distance squared, in degrees of latitude: exact enough to order within a
    # city or a region, and cheap (no trigonometry per row).
    k = math.cos(math.radians(lat))
    dlat = F("lat") - lat
    dlon = (F("lon") - lon) * k
    return qs.annotate(
        d2=ExpressionWrapper(dlat * dlat + dlon * dlon, output_field=FloatField())
    ).order_by("d2", "id")


def open_now_rows(rows: Iterable[Any], now: datetime) -> Iterable[dict[str, Any]]:
    for row in rows:
        if row["twentyfourseven"] or hours.is_open(row["opening_times"], row["time_zone"], now):
            yield row


def _window_query(
    box: BBox, filters: StationFilters, lat: float, lon: float, max_d2: float | None
) -> QuerySet[Location, dict[str, Any]]:
    qs = _distance_order(stations_filtered(box, filters), lat, lon)
    if max_d2 is not None:
        qs = qs.filter(d2__lte=max_d2)  # type: ignore[misc]
    rows: QuerySet[Location, dict[str, Any]] = qs.values(*LIST_FIELDS)
    return rows


# Expanding windows around the centre: about 2.8 km, then 4x wider each time, then the box.
FIRST_WINDOW_DEGREES = 0.025
WINDOW_GROWTH = 4


def _nearest(
    box: BBox, filters: StationFilters, lat: float, lon: float, max_d2: float | None, want: int
) -> list[dict[str, Any]]:
    """The `want` stations nearest (lat, lon) inside `box`, reading as few rows as possible.

    Sorting every station of a dense region by distance reads thousands of rows; instead we ask
    a window around the centre first. Its nearest rows are the box's nearest when the last of
    them lies within the window's inscribed circle (anything outside is farther); else we ask
    a 4x wider window, ending with the whole box."""
    k = max(0.01, math.cos(math.radians(lat)))
    half_lat = max(lat - box.min_lat, box.max_lat - lat)
    reach = FIRST_WINDOW_DEGREES
    while reach < half_lat or reach < max(lon - box.min_lon, box.max_lon - lon) * k:
        window = BBox(
            max(box.min_lon, lon - reach / k),
            max(box.min_lat, lat - reach),
            min(box.max_lon, lon + reach / k),
            min(box.max_lat, lat + reach),
        )
        rows = _window_rows(window, filters, lat, lon, max_d2, want)
        if len(rows) == want and _d2(rows[-1], lat, lon, k) <= reach * reach:
            return rows
        reach *= WINDOW_GROWTH
    return _window_rows(box, filters, lat, lon, max_d2, want)


HOT_FIELDS = tuple(
    f for f in LIST_FIELDS if f not in ("opening_times", "time_zone", "twentyfourseven")
)


def _window_rows(
    box: BBox, filters: StationFilters, lat: float, lon: float, max_d2: float | None, limit: int
) -> list[dict[str, Any]]:
    """The hot query, in plain SQL: the ORM took longer to build it than the database to answer.

    Coordinates are bound literals so the planner uses the partial index of visible stations:
    on PostgreSQL the GiST of `point(lon, lat)`, which bounds both coordinates (migration
    0011), on SQLite the (lat, lon) B-tree. A viewer's restricted stations are a second query
    by id (an OR with `visible` would lose that index), merged by distance."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        where = ["point(lon, lat) <@ box(point(%s, %s), point(%s, %s))"]
        params: list[Any] = [box.min_lon, box.min_lat, box.max_lon, box.max_lat]
    else:
        where = ["lat >= %s", "lat <= %s", "lon >= %s", "lon <= %s"]
        params = [box.min_lat, box.max_lat, box.min_lon, box.max_lon]
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
    k = max(0.01, math.cos(math.radians(lat)))
    d2 = "((lat - %s) * (lat - %s) + ((lon - %s) * %s) * ((lon - %s) * %s))"
    d2_params = [lat, lat, lon, k, lon, k]
    if max_d2 is not None:
        where.append(f"{d2} <= %s")
        params += [*d2_params, max_d2]
    scopes: list[tuple[str, list[Any]]] = [("visible", [])]
    if filters.restricted_ids:
        ids = sorted(filters.restricted_ids)
        scopes.append((f"id IN ({', '.join(['%s'] * len(ids))})", ids))
    rows = []
    columns = ", ".join(quote(f) for f in HOT_FIELDS)
    for scope, scope_params in scopes:
        sql = (
            f"SELECT {columns} FROM {quote(Location._meta.db_table)}"  # noqa: S608
            f" WHERE {' AND '.join([scope, *where])} ORDER BY {d2}, id LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*scope_params, *params, *d2_params, limit])
            rows += [dict(zip(HOT_FIELDS, row, strict=True)) for row in cursor.fetchall()]
    if len(scopes) > 1:
        rows = sorted(rows, key=lambda row: (_d2(row, lat, lon, k), row["id"]))[:limit]
    # A raw cursor skips Django's converters: JSON arrives as text (Django registers jsonb as
    # text), and SQLite's datetimes without a zone.
    for row in rows:
        for name in ("connector_counts", "tariff_ids"):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        status_at = row["status_at"]
        if isinstance(status_at, str):
            status_at = parse_datetime(status_at)
        if status_at is not None and status_at.tzinfo is None:
            status_at = status_at.replace(tzinfo=UTC)
        row["status_at"] = status_at
        row["remote_start"] = bool(row["remote_start"])
    return rows


def _d2(row: dict[str, Any], lat: float, lon: float, k: float) -> float:
    d2: float = (row["lat"] - lat) ** 2 + ((row["lon"] - lon) * k) ** 2
    return d2


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
    max_d2: float | None = None
    if point is not None:
        lat, lon = point
        box = BBox.around(lat, lon, radius_km)
        max_d2 = (radius_km / KM_PER_DEGREE) ** 2
    else:
        assert bbox is not None
        box = bbox
        lat, lon = bbox.centre
    if filters.open_now:
        # Hours live in each station's time zone: filter in Python, reading past the page until
        # it is full (closed stations are a minority, so this rarely reads much further).
        values = _window_query(box, filters, lat, lon, max_d2)
        rows: list[dict[str, Any]] = []
        chunk = max(limit + offset + 1, 100)
        start = 0
        while len(rows) < offset + limit + 1:
            batch = list(values[start : start + chunk])
            rows.extend(open_now_rows(batch, now))
            if len(batch) < chunk:
                break
            start += chunk
        rows = rows[offset : offset + limit + 1]
    else:
        rows = _nearest(box, filters, lat, lon, max_d2, offset + limit + 1)[offset:]
    has_more = len(rows) > limit
    rows = rows[:limit]
    prices = _price_hints(rows)
    results = [_station_summary(row, now, prices) for row in rows]
    if point is not None:
        for row, result in zip(rows, results, strict=True):
            result["distance_km"] = round(haversine_km(lat, lon, row["lat"], row["lon"]), 2)
    return SearchPage(results=results, has_more=has_more)


def station_count(*, filters: StationFilters, bbox: BBox, cap: int) -> int:
    """How many stations in `bbox` match, counted up to `cap + 1` (a list says "cap+")."""
    qs = stations_filtered(bbox, filters)
    if filters.open_now:
        rows = qs.values("opening_times", "time_zone", "twentyfourseven")[: cap * 4]
        return min(cap + 1, sum(1 for _ in open_now_rows(rows.iterator(), timezone.now())))
    return qs[: cap + 1].count()


def _row_tariffs(row: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    ids = row["tariff_ids"] or ([row["tariff_id"]] if row["tariff_id"] else [])
    return [(row["source"], row["country_code"], row["party_id"], t) for t in ids]


# What pricing.headline reads of a tariff, in any language (min and max price too).
TARIFF_WORDS_FIELDS = (
    "source",
    "country_code",
    "party_id",
    "ocpi_id",
    "summary",
    "elements",
    "currency",
    "min_price",
    "max_price",
)


def _price_hints(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each station's price in one line (pricing.headline over its connectors' tariffs)."""
    wanted = {key for row in rows for key in _row_tariffs(row)}
    if not wanted:
        return {}
    found = {
        (t.source, t.country_code, t.party_id, t.ocpi_id): t
        for t in Tariff.objects.filter(
            source__in={w[0] for w in wanted}, ocpi_id__in={w[3] for w in wanted}
        ).only(*TARIFF_WORDS_FIELDS)
    }
    return {
        row["id"]: pricing.headline([found[k] for k in _row_tariffs(row) if k in found])
        for row in rows
    }


def _station_summary(row: dict[str, Any], now: datetime, prices: dict[int, str]) -> dict[str, Any]:
    status_at: datetime | None = row["status_at"]
    return {
        "id": row["id"],
        "name": row["name"] or row["address"],
        "address": row["address"],
        "city": row["city"],
        "postal_code": row["postal_code"],
        "lat": row["lat"],
        "lon": row["lon"],
        "operator": row["operator_name"],
        "max_power_kw": row["max_power_kw"],
        "connectors": {
            standard: {**counts, "label": standard_label(standard)}
            for standard, counts in sorted(row["connector_counts"].items())
        },
        "evses": row["evse_count"],
        "available": row["available_count"],
        "out_of_order": row["out_of_order_count"],
        "remote_start": row["remote_start"],
        "price": prices.get(row["id"], ""),
        "status_at": status_at.isoformat() if status_at else None,
        "status_age_s": int((now - status_at).total_seconds()) if status_at else None,
        "status_stale": live.status_stale(status_at, now),
        "status_text": live.station_status_text(
            available=row["available_count"],
            evses=row["evse_count"],
            out_of_order=row["out_of_order_count"],
            reported_at=status_at,
            now=now,
        ),
        "url": f"/stations/{row['id']}/",
    }


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


def favourite_stations(*, user: Any) -> list[dict[str, Any]]:
    """This driver's starred visible stations as list rows (live status and price), most
    recently starred first."""
    order = {
        location_id: rank
        for rank, location_id in enumerate(
            Favourite.objects.filter(user=user)
            .order_by("-created_at", "-id")
            .values_list("location_id", flat=True)
        )
    }
    rows = list(Location.objects.filter(id__in=list(order), visible=True).values(*LIST_FIELDS))
    rows.sort(key=lambda row: order[row["id"]])
    now = timezone.now()
    prices = _price_hints(rows)
    return [_station_summary(row, now, prices) for row in rows]
