"""How the bare search SQL grows with the catalogue: 50k, then 400k stations, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/plugway_bench_index \
        .venv/bin/python bench/search_index.py [--queries 500]

Loads 50,000 stations around the real US sites through the real write path (bench/run.py's
`build`), times the nearby (10 km, CCS1 + available, the 50 nearest) and city-box (0.2° x 0.3°,
the 50 nearest its centre) searches at random stations, then copies every station seven times,
each copy moved at random within about 2 km (400,000 stations, the same spread, eight times
as dense), and times them again. Each is the statement the API runs (locator.selectors.
search_statement, asking one row more than the page, as the API does): it reads stations
nearest first and stops after the page, so its work should not grow with density, where a scan
of the box read every station of a dense city before the LIMIT. The goal: p95 grows at most
x1.5 from 50k to 400k. Not a test: it prints figures. Reruns drop the copies first.
"""

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import build, percentiles, setup  # noqa: E402 (after the path is set)

COPIES = 7
COPY_SOURCE = "bench-copy"
PAGE = 50
# The same nearby search as the API's query string, after `lat` and `lon`: bench/scale.py asks
# it through HTTP and bench/calls.py in-process.
NEARBY_QUERY = f"radius_km=10&connector=IEC_62196_T1_COMBO&available=true&limit={PAGE}"


def nearby(lat: float, lon: float) -> tuple[str, list[Any]]:
    """The API's nearby search (10 km, CCS1 + available, 50 a page) as (SQL, parameters)."""
    from locator.selectors import SearchArea, StationFilters, search_statement

    area = SearchArea.of(bbox=None, point=(lat, lon), radius_km=10)
    filters = StationFilters(standards=("IEC_62196_T1_COMBO",), available=True)
    return search_statement(area, filters, PAGE + 1)


def city_box(lat: float, lon: float) -> tuple[str, list[Any]]:
    """The API's viewport search of a 0.2° x 0.3° box, 50 a page, as (SQL, parameters)."""
    from locator.selectors import BBox, SearchArea, StationFilters, search_statement

    box = BBox(lon - 0.15, lat - 0.1, lon + 0.15, lat + 0.1)
    area = SearchArea.of(bbox=box, point=None, radius_km=0)
    return search_statement(area, StationFilters(), PAGE + 1)


STATEMENTS = {"nearby 10 km, CCS1 + available": nearby, "city box 0.2° x 0.3°": city_box}


def measure(queries: int, rng: random.Random) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of each statement, alternating at the same random places."""
    from django.db import connection

    from locator.models import Location

    places = list(Location.objects.filter(visible=True).values_list("lat", "lon"))
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    with connection.cursor() as cursor:
        for run in range(queries + 20):  # the first 20 warm up
            lat, lon = rng.choice(places)
            for name, statement in STATEMENTS.items():
                sql, params = statement(lat, lon)
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                if run >= 20:
                    samples[name].append((time.perf_counter() - started) * 1000)
    return {name: percentiles(values)[:2] for name, values in samples.items()}


def copies_make() -> None:
    """Every bench station COPIES more times, each copy moved at random within about 2 km."""
    from django.db import connection

    from locator.models import Location

    columns = [str(f.column) for f in Location._meta.concrete_fields if f.column != "id"]
    moved = {
        "source": f"'{COPY_SOURCE}'",
        "ocpi_id": "ocpi_id || '-' || n",
        "lat": "lat + (random() - 0.5) * 0.04",
        "lon": "lon + (random() - 0.5) * 0.04 / cos(radians(lat))",
    }
    chosen = ", ".join(moved.get(column, column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO locator_location ({', '.join(columns)})"  # noqa: S608
            f" SELECT {chosen} FROM locator_location, generate_series(1, %s) AS n"
            " WHERE source = 'bench'",
            [COPIES],
        )


def copies_drop() -> None:
    from django.db import connection

    with connection.cursor() as cursor:  # not through the ORM: 350,000 deletion signals
        cursor.execute("DELETE FROM locator_location WHERE source = %s", [COPY_SOURCE])


def clustered() -> None:
    from django.core.management import call_command

    call_command("catalogue_cluster", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    setup()
    from django.db import connection

    from locator.models import Location

    if connection.vendor != "postgresql":
        sys.exit("this times the PostgreSQL search: set DATABASE_URL to a PostgreSQL database")
    copies_drop()
    for line in build(args.locations):
        print(line, flush=True)
    rng = random.Random(7)  # noqa: S311 (sampling, not secrets)
    figures = {}
    for size in ("small", "large"):
        if size == "large":
            copies_make()
        clustered()
        count = Location.objects.filter(visible=True).count()
        print(f"timing at {count:,} visible stations", flush=True)
        figures[size] = (count, measure(args.queries, rng))
    (small, at_small), (large, at_large) = figures["small"], figures["large"]
    print(
        f"\n{'bare SQL (ms)':32} {f'{small:,} p50':>12} {'p95':>7}"
        f" {f'{large:,} p50':>13} {'p95':>7} {'p95 growth':>11}"
    )
    for name, (p50, p95) in at_small.items():
        big50, big95 = at_large[name]
        print(f"{name:32} {p50:12.2f} {p95:7.2f} {big50:13.2f} {big95:7.2f} {big95 / p95:10.1f}x")
    copies_drop()


if __name__ == "__main__":
    main()
