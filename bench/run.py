"""Locator benchmark: build a 400k-station / 1M-EVSE catalogue and time searches.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/plugway_bench python bench/run.py
    python bench/run.py --locations 20000          # SQLite: same queries, smaller, slower

Stations come from the sandbox's generator (`sandbox.demo`), scattered around the 50k real US
sites in shared/data (AFDC), 2.5 EVSEs each on average, read by the OCPI 2.2.1 adapter and
loaded through the real write path (`catalogue_locations_upsert`); the ingest rate printed times
that write path alone, the one partners' pulls get. Each query kind runs --queries times
(default 500) at random real places, through Django's test client (the whole stack: URL
routing, DRF, JSON) and then as bare SQL on the same data, so our overhead over the database
shows. Prints a table of p50/p95/p99 in milliseconds. Not part of the test suite.
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locator.catalogue import LocationRecord

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "afdc_US_2022_min5cols_50270rows.csv.gz"
SOURCE = "bench"


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # One client hammering the API would hit the anonymous rate limit: time our code, not it.
    from rest_framework.views import APIView

    APIView.throttle_classes = []
    _ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ensure_database() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    import psycopg

    settings = connection.settings_dict
    try:
        connection.ensure_connection()
    except Exception:
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            password=settings["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(f'CREATE DATABASE "{settings["NAME"]}"')


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def us_stations(count: int, *, party_id: str, seed: int) -> Iterator["LocationRecord"]:
    """`count` generated stations around the real US sites, evenly, 2 km from a site on average."""
    from sandbox.cities import afdc_cities
    from sandbox.demo import demo_locations
    from sandbox.stations import locations_generate

    generated = locations_generate(
        count=count,
        seed=seed,
        country_code="US",
        party_id=party_id,
        cities=afdc_cities(DATA),
        spread_km=2.0,
        weighted=False,
    )
    return demo_locations(generated)


def build(count: int) -> list[str]:
    """Load `count` stations unless they are there; returns lines describing the load."""
    from itertools import islice

    from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
    from locator.models import Evse, Location
    from sandbox.demo import demo_tariffs

    have = Location.objects.filter(source=SOURCE).count()
    if have >= count:
        return [f"catalogue already loaded: {have:,} stations, {Evse.objects.count():,} EVSEs"]
    catalogue_tariffs_upsert(source=SOURCE, records=demo_tariffs(country_code="US", party_id="BEN"))
    records = us_stations(count, party_id="BEN", seed=42)
    lines: list[str] = []
    written, elapsed, mark = 0, 0.0, 0.0  # seconds in the write path only
    while batch := list(islice(records, 2000)):
        started = time.monotonic()
        written += catalogue_locations_upsert(source=SOURCE, records=batch).written
        elapsed += time.monotonic() - started
        if written % 100_000 == 0 or written == count:
            rate = 100_000 / (elapsed - mark) if written % 100_000 == 0 else 0
            print(f"  {written:,} stations loaded, {written / elapsed:,.0f}/s overall", flush=True)
            if written == 100_000:
                lines.append(f"ingest, first 100k stations: {rate:,.0f} locations/s")
            mark = elapsed
    lines.append(
        f"ingest {written:,} stations / {Evse.objects.count():,} EVSEs: {elapsed:,.0f} s, "
        f"{written / elapsed:,.0f} locations/s (upsert path, grid kept current)"
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return lines


def ingest_deferred(count: int) -> list[str]:
    """Load `count` more stations as a real worker setup does: the upserts only mark grid cells
    dirty and one refresh runs afterwards. Removes them again."""
    from itertools import islice

    from config.celery import app as celery_app
    from locator.catalogue import catalogue_grid_refresh_dirty, catalogue_locations_upsert
    from locator.models import Location

    records = us_stations(count, party_id="ING", seed=5)
    celery_app.conf.task_always_eager = False
    written, upserted = 0, 0.0
    try:
        while batch := list(islice(records, 1000)):
            started = time.monotonic()
            written += catalogue_locations_upsert(source="ingest-test", records=batch).written
            upserted += time.monotonic() - started
    finally:
        celery_app.conf.task_always_eager = True
    refresh_started = time.monotonic()
    cells = catalogue_grid_refresh_dirty()
    refreshed = time.monotonic() - refresh_started
    from locator.catalogue.grid_refresh import refresh

    test_rows = Location.objects.filter(source="ingest-test")
    touched = set(test_rows.values_list("cell", flat=True))
    test_rows.delete()
    refresh(touched)
    return [
        f"ingest {written:,} more stations in pages of 1,000, grid deferred to a worker: "
        f"{written / upserted:,.0f} locations/s; then one grid refresh of {cells:,} cells "
        f"in {refreshed:.1f} s ({written / (upserted + refreshed):,.0f} locations/s end to end)"
    ]


def status_rate(rng: random.Random, *, deferred: bool, batches: int = 20, size: int = 500) -> str:
    """Batched EVSE status updates at random stations. `deferred`: as with a real worker, the
    grid refresh is left to a task (run once at the end and timed separately)."""
    from django.utils import timezone

    from config.celery import app as celery_app
    from locator.catalogue import EvseStatusUpdate, catalogue_grid_refresh_dirty
    from locator.catalogue.statuses import evse_statuses_apply
    from locator.models import Evse

    max_id = Evse.objects.order_by("-id").values_list("id", flat=True).first() or 0
    total, elapsed = 0, 0.0
    celery_app.conf.task_always_eager = not deferred
    try:
        for _ in range(batches):
            ids = [rng.randint(1, max_id) for _ in range(size)]
            rows = Evse.objects.filter(id__in=ids).values_list(
                "location__country_code", "location__party_id", "location__ocpi_id", "uid"
            )
            now = timezone.now()
            updates = [
                EvseStatusUpdate(cc, party, loc, uid, rng.choice(("AVAILABLE", "CHARGING")), now)
                for cc, party, loc, uid in rows
            ]
            started = time.perf_counter()
            evse_statuses_apply(source=SOURCE, updates=updates)
            elapsed += time.perf_counter() - started
            total += len(updates)
    finally:
        celery_app.conf.task_always_eager = True
    line = f"EVSE status updates, batches of {size}, "
    if not deferred:
        return line + f"grid refreshed inline: {total / elapsed:,.0f} updates/s"
    started = time.perf_counter()
    cells = catalogue_grid_refresh_dirty()
    refresh = time.perf_counter() - started
    return line + (
        f"grid deferred to a worker: {total / elapsed:,.0f} updates/s "
        f"(then one refresh of {cells:,} cells: {refresh:.1f} s)"
    )


def clusters_statement() -> tuple[str, list[object]]:
    """The continent clusters (US, zoom 4) as bare SQL on the cluster table."""
    from locator import grid

    x0, y0 = grid.cell_xy(24.0, -125.0, 4)
    x1, y1 = grid.cell_xy(50.0, -66.0, 4)
    return (
        "SELECT lat, lon, count, available, max_power_kw FROM locator_clustercell"
        " WHERE zoom = %s AND standard = '' AND x BETWEEN %s AND %s AND y BETWEEN %s AND %s"
        " ORDER BY count DESC LIMIT 300",
        [4, x0, x1, y0, y1],
    )


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm up
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=400_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--only-writes", action="store_true", help="skip the query table")
    parser.add_argument(
        "--ingest", type=int, default=100_000, help="extra stations for the deferred-grid ingest"
    )
    args = parser.parse_args()
    setup()

    from django.db import connection
    from django.test import Client

    from bench.search_index import nearby as nearby_statement
    from locator import grid
    from locator.models import Location
    from locator.selectors import BBox, SearchArea, StationFilters, search_statement

    print(f"database: {connection.vendor}", flush=True)
    notes = build(args.locations)
    if connection.vendor == "postgresql":
        from django.core.management import call_command

        started = time.monotonic()
        call_command("catalogue_cluster", verbosity=0)
        notes.append(f"catalogue_cluster (CLUSTER + ANALYZE): {time.monotonic() - started:.1f} s")
    if args.ingest:
        notes += ingest_deferred(args.ingest)
    for line in notes:
        print(line, flush=True)
    rng = random.Random(7)  # noqa: S311 (sampling, not secrets)
    notes.append(status_rate(rng, deferred=False))
    notes.append(status_rate(rng, deferred=True))
    print(notes[-2], notes[-1], sep="\n", flush=True)
    if args.only_writes:
        return
    ids = list(
        Location.objects.filter(source=SOURCE, visible=True).values_list("id", "lat", "lon")[
            : args.locations
        ]
    )
    client = Client()

    def centre() -> tuple[int, float, float]:
        return rng.choice(ids)

    def api(path: str, params: dict[str, Any]) -> Callable[[], object]:
        def call() -> object:
            response = client.get(path, params)
            assert response.status_code == 200, response.content[:300]
            return response

        return call

    def sql(query: str, params: list[Any]) -> object:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()

    def nearby_api() -> object:
        _, lat, lon = centre()
        return api(
            "/api/v1/stations/",
            {
                "lat": lat,
                "lon": lon,
                "radius_km": 10,
                "connector": "IEC_62196_T1_COMBO",
                "available": "true",
                "limit": 50,
            },
        )()

    def nearby_sql() -> object:
        _, lat, lon = centre()
        return sql(*nearby_statement(lat, lon))

    def bbox_of(lat: float, lon: float, h: float, w: float) -> tuple[float, float, float, float]:
        return (lon - w / 2, lat - h / 2, lon + w / 2, lat + h / 2)

    def bbox_api(h: float, w: float) -> Callable[[], object]:
        def call() -> object:
            _, lat, lon = centre()
            b = bbox_of(lat, lon, h, w)
            return api(
                "/api/v1/stations/", {"bbox": ",".join(f"{v:.5f}" for v in b), "limit": 50}
            )()

        return call

    def bbox_sql(h: float, w: float) -> Callable[[], object]:
        def call() -> object:
            _, lat, lon = centre()
            area = SearchArea.of(bbox=BBox(*bbox_of(lat, lon, h, w)), point=None, radius_km=0)
            return sql(*search_statement(area, StationFilters(), 51))

        return call

    continent = {"bbox": "-125.0,24.0,-66.0,50.0", "zoom": 4}

    def clusters_api() -> object:
        return api("/api/v1/map/", continent)()

    def clusters_filtered_api() -> object:
        return api(
            "/api/v1/map/", {**continent, "connector": "IEC_62196_T1_COMBO", "available": "true"}
        )()

    def clusters_live_api() -> object:
        return api("/api/v1/map/", {**continent, "min_power_kw": 150})()

    def clusters_sql() -> object:
        return sql(*clusters_statement())

    def clusters_live_sql() -> object:
        size = grid.cell_size(4)
        return sql(
            "SELECT floor(lat/%s), floor(lon/%s), count(*), avg(lat), avg(lon)"
            " FROM locator_location WHERE visible AND lat BETWEEN 24 AND 50"
            " AND lon BETWEEN -125 AND -66 AND max_power_kw >= 150 GROUP BY 1, 2",
            [size, size],
        )

    def station_page() -> object:
        station_id, _, _ = centre()
        return api(f"/stations/{station_id}/", {})()

    def station_sql() -> object:
        station_id, _, _ = centre()
        sql("SELECT * FROM locator_location WHERE id = %s AND visible", [station_id])
        sql(
            "SELECT * FROM locator_evse WHERE location_id = %s AND status <> 'REMOVED'"
            " ORDER BY uid",
            [station_id],
        )
        return sql(
            "SELECT c.* FROM locator_connector c JOIN locator_evse e ON e.id = c.evse_id"
            " WHERE e.location_id = %s",
            [station_id],
        )

    rows = [
        ("nearby 10 km, CCS1 + available, limit 50", nearby_api, nearby_sql, 15),
        ("city bbox 0.2°x0.3°, limit 50", bbox_api(0.2, 0.3), bbox_sql(0.2, 0.3), 20),
        ("region bbox 2°x3°, limit 50", bbox_api(2.0, 3.0), bbox_sql(2.0, 3.0), 20),
        ("continent clusters (US, zoom 4)", clusters_api, clusters_sql, 25),
        ("continent clusters, CCS1 + available", clusters_filtered_api, clusters_sql, 25),
        (
            # Filters the grid cannot answer fall back to a live GROUP BY: slow at continent
            # scale, so fewer samples (with 50, p99 is about the maximum).
            "continent clusters, >=150 kW (live, 50 runs)",
            clusters_live_api,
            clusters_live_sql,
            None,
        ),
        ("station page (HTML)", station_page, station_sql, 20),
    ]
    print(
        f"\n{'query':46} {'p50':>7} {'p95':>7} {'p99':>7}   "
        f"{'SQL p50':>7} {'p95':>7} {'p99':>7}  target p95",
        flush=True,
    )
    for name, ours, bare, target in rows:
        n = 50 if "50 runs" in name else args.queries
        a = percentiles(timed(ours, n))
        b = percentiles(timed(bare, n))
        verdict = "" if target is None else f"<= {target} ms {'ok' if a[1] <= target else 'MISSED'}"
        print(
            f"{name:46} {a[0]:7.2f} {a[1]:7.2f} {a[2]:7.2f}   "
            f"{b[0]:7.2f} {b[1]:7.2f} {b[2]:7.2f}  {verdict}",
            flush=True,
        )
    print()
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
