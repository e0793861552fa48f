"""Python function calls and CPU time a request costs, in-process, under cProfile.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/calls.py [--requests 2000] [--top 0]

Counts what the web process runs for the busiest requests, through Django's test client (the
whole stack from middleware to JSON, less gunicorn): an EVSE status PATCH as a partner sends it
(queued in Redis, as in production), a nearby search and the clusters of the whole catalogue
(throttled as an anonymous client). The nearby search asks exactly what bench/scale.py's asks
through HTTP (bench/search_index.py's NEARBY_QUERY: 10 km, CCS1 + available, 50 a page), so its
CPU a request compares with the HTTP figures: run it on a bench/scale.py catalogue (US sites,
with CCS1 plugs; `DATABASE_URL=.../plugway_bench_scale_50000`). The status PATCH runs where
bench/roaming_ingest.py left its partner and push token, and is left out elsewhere; a
catalogue whose nearby answers are empty (the European sandbox has no CCS1) is refused, as its
figures would be those of an empty answer. Call counts do not change with the load on a
shared machine, so they compare two versions of the code where timings cannot. Nothing it
does needs a worker. Not a test: it prints figures.
"""

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.roaming_ingest import PUSH_TOKEN  # noqa: E402 (after the path is set)
from bench.search_index import NEARBY_QUERY  # noqa: E402


def requests_build(rng: random.Random) -> dict[str, Callable[[], Any]]:
    from django.test import Client

    from locator.models import Evse, Location
    from roaming.crypto import token_hash
    from roaming.models import Partner
    from roaming.services.sync import catalogue_source

    client = Client()
    partner = Partner.objects.filter(inbound_token_hash=token_hash(PUSH_TOKEN)).first()
    evses = list(
        Evse.objects.filter(
            location__source=catalogue_source(partner) if partner else None
        ).values_list("location__country_code", "location__party_id", "location__ocpi_id", "uid")[
            :50_000
        ]
    )
    places = list(Location.objects.filter(visible=True).values_list("lat", "lon")[:50_000])
    if not places:
        sys.exit("no stations in this database: run bench/scale.py (or bench/run.py) first")
    count = 0

    def status_patch() -> Any:
        nonlocal count
        count += 1
        country_code, party_id, location_id, uid = rng.choice(evses)
        return client.patch(
            f"/ocpi/2.2.1/locations/{country_code}/{party_id}/{location_id}/{uid}",
            {"status": "CHARGING", "last_updated": f"2030-01-01T00:00:{count % 60:02d}Z"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {PUSH_TOKEN}",
        )

    def nearby() -> Any:
        lat, lon = rng.choice(places)
        return client.get(f"/api/v1/stations/?lat={lat}&lon={lon}&{NEARBY_QUERY}")

    if not any(nearby().json() for _ in range(20)):
        sys.exit(f"20 nearby searches ({NEARBY_QUERY}) found nothing: run on a US catalogue")

    lats, lons = [lat for lat, _ in places], [lon for _, lon in places]
    everything = f"{min(lons)},{min(lats)},{max(lons)},{max(lats)}"

    def clusters() -> Any:
        return client.get("/api/v1/map/", {"bbox": everything, "zoom": "4"})

    requests = {"nearby 10 km": nearby, "clusters": clusters}
    if not evses:
        print("no partner of bench/roaming_ingest.py here: the status PATCH is left out")
        return requests
    return {"status PATCH": status_patch, **requests}


# Functions called once a Redis round trip (a pipeline's too) and once an SQL statement.
COUNTED = (
    ("redis/connection.py", "send_packed_command"),
    ("django/db/backends/utils.py", "_execute_with_wrappers"),
)


def counted(stats: pstats.Stats, module: str, function: str) -> int:
    return sum(
        calls
        for (filename, _, name), (_, calls, *_) in stats.stats.items()  # type: ignore[attr-defined]
        if name == function and filename.endswith(module)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    # A high limit, so that the throttle is paid for on each request but never refuses.
    from rest_framework import throttling

    throttling.SimpleRateThrottle.THROTTLE_RATES = {"anon": "1000000/min", "user": "1000000/min"}

    rng = random.Random(7)  # noqa: S311 (sampling, not secrets)
    print(
        f"{'request':16} {'calls/request':>14} {'CPU ms/request':>15}"
        f" {'Redis round trips':>18} {'SQL statements':>15}"
    )
    for name, call in requests_build(rng).items():
        for _ in range(50):  # warm up: connections, partner and EVSE memories
            response = call()
            assert response.status_code == 200, response.content[:300]
        started = time.process_time()  # without the profiler, which costs per call
        for _ in range(args.requests):
            call()
        cpu = (time.process_time() - started) * 1000 / args.requests
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            call()
        profile.disable()
        stats = pstats.Stats(profile)
        calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
        redis_trips, sql = (
            counted(stats, module, function) / args.requests for module, function in COUNTED
        )
        print(f"{name:16} {calls:14,.0f} {cpu:15.3f} {redis_trips:18.2f} {sql:15.2f}", flush=True)
        if args.top:
            stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
