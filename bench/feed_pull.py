#!/usr/bin/env python3
"""A pull from a feed of the 50k real US sites beside one from the sandbox feed, same sitting.

    .venv/bin/python bench/feed_pull.py [--locations 50269] [--factors] [--open-feed]
        [--baseline CHECKOUT]

Each feed is served over real HTTP and pulled by our normal path (`partner_sync --full`:
paging, parsing, validation, bulk upsert, the map's grid marked dirty for a Celery worker)
into a fresh PostgreSQL database:
- "sandbox": the sandbox CPO (`manage.py sandbox_cpo`) with generated sites around European
  city centres, one party, 1,000 a page (the feed of bench/roaming_ingest.py);
- "real sites": the sandbox CPO with one location at each real site of ../shared/data's AFDC
  export (its name and coordinates; generated EVSEs, about 2.5 a site, with US plugs,
  addresses and opening hours), dealt over 12 party ids, 500 a page: a hub's feed, or an
  operator's open feed, served by a server that costs us nothing;
- with `--open-feed`, "Plugway open feed": the catalogue the "real sites" pull wrote, served
  by our own open OCPI locations feed (`/ocpi/open/2.2.1/locations`, 500 a page, gunicorn, its
  partner opted in to re-publication) and pulled as an open feed by a second Plugway: how a
  Plugway pulls another;
- with `--baseline CHECKOUT` too, the same open feed served by another checkout's code (the
  main branch's, say);
- with `--factors`, feeds that differ from "sandbox" in one respect each (real sites, 12
  parties, 500 a page), to tell which of them costs what.

For each: locations/s of the pull itself (as its sync run recorded it, command start-up left
out), and CPU microseconds a location of the pulling command (its page reader and Django's
start-up included), of the server of the feed, of the Celery worker, and of the PostgreSQL
backends of each database (sampled from /proc). Not a test: it prints figures. Needs
PostgreSQL (BENCH_DATABASE_URL: a database of its own, dropped and created again, and another
named after it + "_open") and Redis (BENCH_REDIS_URL).
"""

import argparse
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 (after the path is set)
from bench.roaming_ingest import (  # noqa: E402
    cpu_seconds,
    cpu_since,
    feed_shape,
    process_tree_cpu,
)
from bench.run import DATA  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/plugway_bench_feed"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
SITES = 50_269  # the export's rows with a coordinate in the US
SANDBOX = "sandbox"
REAL = "real sites"
OPEN = "Plugway open feed"
# sandbox_cpo options of each feed, beyond the common ones.
FEEDS: dict[str, tuple[str, ...]] = {
    SANDBOX: ("--country", "NL", "--page-limit", "1000"),
    REAL: ("--country", "US", "--sites", str(DATA), "--parties", "12", "--page-limit", "500"),
}
FACTORS: dict[str, tuple[str, ...]] = {
    "sandbox, real sites only": ("--country", "US", "--sites", str(DATA), "--page-limit", "1000"),
    "sandbox, 12 parties only": ("--country", "NL", "--parties", "12", "--page-limit", "1000"),
    "sandbox, 500 a page only": ("--country", "NL", "--page-limit", "500"),
}
Children = dict[str, subprocess.Popen[bytes]]


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving some databases, sampled from /proc five
    times a second (a backend's last fifth of a second before it exits can be missed)."""

    def __init__(self, database_url: str, names: list[str]) -> None:
        self.admin = psycopg.connect(database_url, autocommit=True)
        self.names = names
        self.seen: dict[tuple[str, int], float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self) -> None:
        while not self.stopping.wait(0.2):
            self.sample()

    def sample(self) -> None:
        rows = self.admin.execute(
            "SELECT datname, pid FROM pg_stat_activity WHERE datname = ANY(%s)", [self.names]
        ).fetchall()
        for name, pid in rows:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
                self.seen[name, pid] = process_tree_cpu(pid)

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        self.thread.join()
        self.sample()
        self.admin.close()
        return {
            name: sum(cpu for (db, _), cpu in self.seen.items() if db == name)
            for name in self.names
        }


def pull(
    env: dict[str, str], name: str, children: Children, server: str, database_url: str
) -> dict[str, float]:
    """`partner_sync --full` of `name`: the rate and the CPU a location of each part."""
    databases = [database_url.rsplit("/", 1)[1]]
    if server == "gunicorn":  # our own open feed: the database it serves from works too
        databases.append(env["SERVED_DATABASE"])
    backends = BackendCpu(database_url, databases)
    before = cpu_seconds(children, "pull")
    summary = processes.manage(env, "partner_sync", name, "--full", "--verbosity", "0").strip()
    cpu = cpu_since(before, children, "pull")
    postgres = backends.stop()
    print(f"  {summary}", flush=True)
    written = int(re.search(r"(\d+) written", summary).group(1))  # type: ignore[union-attr]
    seconds = float(re.search(r"in ([\d.]+) s", summary).group(1))  # type: ignore[union-attr]
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM locator_tariff").fetchone()
    pulled = written - (row[0] if row else 0)
    evses, connectors = feed_shape(database_url)
    figures = {
        "locations": pulled,
        "rate": pulled / seconds,
        "evses": evses / pulled,
        "connectors": connectors / pulled,
        "pull us": cpu["pull"] * 1e6 / pulled,
        "server us": cpu[server] * 1e6 / pulled,
        "celery us": cpu["celery"] * 1e6 / pulled,
        "postgres us": postgres[databases[0]] * 1e6 / pulled,
        "served postgres us": postgres[databases[-1]] * 1e6 / pulled if server == "gunicorn" else 0,
    }
    print("  " + describe(figures, server), flush=True)
    return figures


def sandbox_pull(
    name: str, options: tuple[str, ...], locations: int, database_url: str, redis_url: str
) -> dict[str, float]:
    """Serve one sandbox feed and pull it all into a fresh database."""
    processes.fresh_database(database_url)
    app_port, cpo_port = processes.free_port(), processes.free_port()
    env = processes.app_env(database_url, redis_url, app_port)
    processes.manage(env, "migrate", "--no-input")
    sandbox, versions_url = processes.sandbox_start(env, cpo_port, locations, *options)
    children: Children = {
        "sandbox": sandbox,
        "celery": processes.celery_start(env, "worker", "--concurrency", "1", log=Path(os.devnull)),
        # Only to answer the sandbox's call-back during registration.
        "gunicorn": processes.gunicorn_start("config.wsgi", app_port, env, 1),
    }
    try:
        processes.wait_for(f"http://127.0.0.1:{app_port}/healthz")
        processes.wait_for(versions_url, seconds=300)
        processes.partner_register(env, name, versions_url)
        return pull(env, name, children, "sandbox", database_url)
    finally:
        processes.children_stop(children.values())


def open_feed_pull(served_url: str, redis_url: str, checkout: Path = ROOT) -> dict[str, float]:
    """Serve the catalogue the "real sites" pull wrote through our open locations feed (the
    code of `checkout`), and pull it as an open feed into a second, fresh database."""
    served_port = processes.free_port()
    served_env = processes.app_env(served_url, redis_url, served_port)
    processes.manage(
        served_env,
        "shell",
        "-c",
        f"from roaming.models import Partner; Partner.objects.filter(name={REAL!r})"
        ".update(republish=True)",
    )
    database_url = served_url + "_open"
    processes.fresh_database(database_url)
    env = processes.app_env(database_url, redis_url, processes.free_port())
    env["SERVED_DATABASE"] = served_url.rsplit("/", 1)[1]
    processes.manage(env, "migrate", "--no-input")
    children: Children = {
        "gunicorn": processes.gunicorn_start(
            "config.wsgi", served_port, served_env, 2, checkout=checkout
        ),
        "celery": processes.celery_start(env, "worker", "--concurrency", "1", log=Path(os.devnull)),
    }
    try:
        feed_url = f"http://127.0.0.1:{served_port}/ocpi/open/2.2.1/locations"
        processes.wait_for(f"http://127.0.0.1:{served_port}/healthz")
        processes.manage(env, "feed_add", "--name", OPEN, "--locations-url", feed_url)
        return pull(env, OPEN, children, "gunicorn", database_url)
    finally:
        processes.children_stop(children.values())


def feeds_pull(
    locations: int,
    database_url: str,
    redis_url: str,
    *,
    factors: bool = False,
    open_feed: bool = False,
    baseline: Path | None = None,
) -> dict[str, dict[str, float]]:
    """Each feed pulled in turn, printing two lines each."""
    results = {}
    for name, options in (FEEDS | FACTORS if factors else FEEDS).items():
        print(f"pull of the {name} feed", flush=True)
        results[name] = sandbox_pull(name, options, locations, database_url, redis_url)
        if name == REAL and open_feed:
            print(f"pull of the {OPEN} of the real sites", flush=True)
            results[OPEN] = open_feed_pull(database_url, redis_url)
            if baseline:
                print(f"pull of the {OPEN} served by {baseline}'s code", flush=True)
                results[f"{OPEN}, {baseline}"] = open_feed_pull(database_url, redis_url, baseline)
    return results


def describe(figures: dict[str, float], server: str) -> str:
    served = figures["served postgres us"]
    return (
        f"{figures['locations']:,.0f} locations ({figures['evses']:.2f} EVSEs, "
        f"{figures['connectors']:.2f} connectors each): {figures['rate']:,.0f}/s; CPU a "
        f"location: pull {figures['pull us']:,.0f} us + its PostgreSQL "
        f"{figures['postgres us']:,.0f} us, {server} {figures['server us']:,.0f} us"
        + (f" + its PostgreSQL {served:,.0f} us" if served else "")
        + f", celery {figures['celery us']:,.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=SITES, help="locations of each feed")
    parser.add_argument(
        "--factors", action="store_true", help="also the feeds that differ in one respect"
    )
    parser.add_argument(
        "--open-feed", action="store_true", help="also the real sites through our open feed"
    )
    parser.add_argument(
        "--baseline", type=Path, help="with --open-feed: serve it with this checkout's code too"
    )
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    started = time.monotonic()
    results = feeds_pull(
        args.locations,
        database_url,
        redis_url,
        factors=args.factors,
        open_feed=args.open_feed,
        baseline=args.baseline,
    )
    ours = results[SANDBOX]
    print()
    for name, figures in results.items():
        print(
            f"{name} / sandbox: rate {figures['rate'] / ours['rate']:.2f}, pull CPU a location "
            f"{figures['pull us'] / ours['pull us']:.2f}x"
        )
    print(f"({time.monotonic() - started:.0f} s; load average after: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
