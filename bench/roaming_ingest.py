#!/usr/bin/env python3
"""Roaming benchmark: full pull of a big sandbox CPO into PostgreSQL, then status PATCHes/s.

    .venv/bin/python bench/roaming_ingest.py [--locations 100000] [--patch-seconds 20]
        [--compare-sync] [--baseline CHECKOUT] [--rounds 1] [--reuse]

1. Starts a sandbox CPO (`manage.py sandbox_cpo`) with --locations stations, and the app as in
   production: gunicorn with config/gunicorn.conf.py (DEBUG off) on a fresh PostgreSQL
   database, Redis, and a Celery worker (which refreshes the map's cluster grid after writes).
   `--compare-sync` also serves the app with sync workers (each connection closed after its
   request), `--baseline` also serves another checkout's code (the main branch's, say) on the
   same database, and the PATCH runs alternate between the servers; `--reuse` skips the pull
   and PATCHes what the last run pulled.
2. Registers with the sandbox through the real handshake and runs `partner_sync --full`:
   prints locations/s end to end (HTTP paging, parsing, validation, bulk upsert, aggregates).
3. Drives EVSE status PATCHes at our locations receiver with wrk (Debian package `wrk`) and
   prints PATCHes/s, latency and gunicorn's CPU time a PATCH (which other load on a shared
   machine inflates far less than latency), and how far the batched status writer fell
   behind (accepted PATCHes wait in a Redis queue until a Celery task applies them: a rate it
   cannot keep up with is not sustained). The same PATCHes go, alternately, to a reference
   served by the same gunicorn settings: bench/patch_reference.py, one parse and the same one
   Redis EVAL a PATCH and nothing else (the design's ceiling on this machine); the last lines
   print Plugway's figures beside it, with the ratio.

Not a test: it prints figures. Needs PostgreSQL (BENCH_DATABASE_URL), Redis (BENCH_REDIS_URL)
and wrk; defaults below.
"""

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/plugway_bench_roaming"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
PUSH_TOKEN = "bench-push-token"  # noqa: S105 (only in the benchmark's throwaway database)
STATUS_QUEUE = "roaming:evse-status-pushes"  # locator.catalogue.status_queue.QUEUE_KEY
# bench.patch_reference's QUEUE_KEY and DRAIN_SCHEDULED_KEY
REFERENCE_KEYS = ("bench:reference:status-pushes", "bench:reference:drain-scheduled")

PATCH_LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local statuses = {"AVAILABLE", "CHARGING", "AVAILABLE", "BLOCKED", "AVAILABLE", "OUTOFORDER"}
local n = 0
request = function()
  n = n + 1
  local path = paths[math.random(#paths)]
  local stamp = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", os.time() + 3600)
  stamp = stamp .. string.format(".%%03dZ", n %% 1000)
  local status = statuses[math.random(#statuses)]
  local body = '{"status": "' .. status .. '", "last_updated": "' .. stamp .. '"}'
  local headers = {["Authorization"] = "Token %(token)s", ["Content-Type"] = "application/json"}
  return wrk.format("PATCH", path, headers, body)
end
"""


def bench_database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)


def bench_redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=100_000)
    parser.add_argument("--patch-seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--compare-sync",
        action="store_true",
        help="also serve with sync workers (the setup before config/gunicorn.conf.py), "
        "alternating PATCH runs between the two",
    )
    parser.add_argument(
        "--baseline", type=Path, help="also serve this checkout's code, alternating PATCH runs"
    )
    parser.add_argument("--rounds", type=int, default=1, help="PATCH runs on each server")
    parser.add_argument(
        "--reuse", action="store_true", help="skip the pull: PATCH what an earlier run pulled"
    )
    args = parser.parse_args()
    wrk_path = shutil.which("wrk")
    if not wrk_path:
        sys.exit("wrk is not installed: apt-get install wrk")
    database_url = bench_database_url()
    if not args.reuse:
        processes.fresh_database(database_url)
    redis_url = bench_redis_url()
    status_queue = StatusQueueWatch(redis_url)
    app_port, reference_port, sync_port, baseline_port, cpo_port = (
        processes.free_port() for _ in range(5)
    )
    env = processes.app_env(database_url, redis_url, app_port)
    processes.manage(env, "migrate", "--no-input")

    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        if not args.reuse:
            started = time.monotonic()
            children["sandbox"], versions_url = processes.sandbox_start(
                env, cpo_port, args.locations
            )
            processes.wait_for(versions_url)
            print(
                f"sandbox with {args.locations:,} stations up in {time.monotonic() - started:.1f} s"
            )
        servers = {"gunicorn": app_port, "reference": reference_port}
        children["gunicorn"] = processes.gunicorn_start("config.wsgi", app_port, env, args.workers)
        children["reference"] = processes.gunicorn_start(
            "bench.patch_reference:application", reference_port, env, args.workers
        )
        if args.compare_sync:
            servers["gunicorn sync"] = sync_port
            children["gunicorn sync"] = processes.gunicorn_start(
                "config.wsgi",
                sync_port,
                env,
                args.workers,
                "--worker-class",
                "sync",
                "--threads",
                "1",
            )
        if args.baseline:
            servers["baseline"] = baseline_port
            children["baseline"] = processes.gunicorn_start(
                "config.wsgi", baseline_port, env, args.workers, checkout=args.baseline
            )
        for port in servers.values():
            processes.wait_for(f"http://127.0.0.1:{port}/healthz")
        children["celery"] = processes.celery_start(env, "worker", "--concurrency", "1")
        if not args.reuse:
            pull(env, children, database_url, versions_url, args.locations)
        paths = evse_paths(env, database_url)
        with tempfile.TemporaryDirectory() as tmp:
            lua = Path(tmp) / "patch.lua"
            paths_file = Path(tmp) / "paths.txt"
            paths_file.write_text("\n".join(random.sample(paths, min(len(paths), 50_000))))
            lua.write_text(PATCH_LUA % {"paths": paths_file, "token": PUSH_TOKEN})
            figures: dict[str, list[PatchFigures]] = {server: [] for server in servers}
            for run in range(args.rounds):
                for server, port in servers.items():
                    figures[server].append(
                        patches_run(
                            wrk_path, lua, port, args, children, server, status_queue, f"{run + 1}"
                        )
                    )
            status_queue.client.delete(*REFERENCE_KEYS)
            patches_compare(figures)
    finally:
        processes.children_stop(children.values())


def pull(
    env: dict[str, str],
    children: dict[str, subprocess.Popen[bytes]],
    database_url: str,
    versions_url: str,
    locations: int,
) -> None:
    """Register with the sandbox and pull everything it holds, printing the rates."""
    print(processes.partner_register(env, "Bench CPO", versions_url))
    cpu_before = cpu_seconds(children, "pull")
    started = time.monotonic()
    summary = processes.manage(
        env, "partner_sync", "Bench CPO", "--full", "--verbosity", "0"
    ).strip()
    elapsed = time.monotonic() - started
    cpu_used = cpu_since(cpu_before, children, "pull")
    received = int(re.search(r"(\d+) received", summary).group(1))  # type: ignore[union-attr]
    tariffs = received - locations
    print(summary)
    evses, connectors = feed_shape(database_url)
    print(f"FEED: {locations:,} locations, {evses:,} EVSEs, {connectors:,} connectors")
    print(
        f"INGEST: {locations:,} locations (+{tariffs} tariffs) in {elapsed:.1f} s "
        f"= {locations / elapsed:,.0f} locations/s end to end (command start-up included)"
    )
    print(
        f"CPU seconds during the pull (2 cores = {2 * elapsed:.0f} available): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu_used.items())
    )


class PatchFigures(NamedTuple):
    rate: float  # PATCHes/s
    p99_ms: float
    cpu_ms: dict[str, float]  # CPU a PATCH of each process (wrk, gunicorn, ...)


def patches_compare(figures: dict[str, list["PatchFigures"]]) -> None:
    """Each server's best run beside the reference's best, with the ratio."""
    reference = max(figures["reference"], key=lambda run: run.rate)
    for server, runs in figures.items():
        if server == "reference":
            continue
        best = max(runs, key=lambda run: run.rate)
        print(
            f"PATCH {server}: {best.rate:,.0f}/s, p99 {best.p99_ms:.0f} ms, "
            f"{best.cpu_ms[server]:.3f} ms of its server's CPU a PATCH | reference (one parse, "
            f"one Redis EVAL): {reference.rate:,.0f}/s, p99 {reference.p99_ms:.0f} ms, "
            f"{reference.cpu_ms['reference']:.3f} ms | ratio {best.rate / reference.rate:.2f}"
        )


def patches_run(
    wrk_path: str,
    lua: Path,
    port: int,
    args: argparse.Namespace,
    children: dict[str, subprocess.Popen[bytes]],
    server: str,
    status_queue: "StatusQueueWatch",
    run: str,
) -> PatchFigures:
    """One wrk run of status PATCHes at `server`: its rate, latency and CPU per PATCH."""
    status_queue.start()
    cpu_before = cpu_seconds(children, "wrk")
    wrk = subprocess.run(
        [
            wrk_path,
            "-t2",
            "-c16",
            f"-d{args.patch_seconds}s",
            "--latency",
            "-s",
            str(lua),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    drained_after = status_queue.stop()
    cpu_used = cpu_since(cpu_before, children, "wrk")
    print(f"--- run {run}: {server}")
    print(wrk.stdout)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk.stdout).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", wrk.stdout).group(1))  # type: ignore[union-attr]
    print(
        f"PATCH ({server}, run {run}): {rate:,.0f} EVSE status PATCHes/s through HTTP "
        f"({args.workers} workers, PostgreSQL, wrk on the same 2 cores); "
        f"{cpu_used[server] * 1000 / max(requests, 1):.3f} ms of gunicorn CPU a PATCH"
    )
    print(
        f"STATUS QUEUE: at most {status_queue.most:,} PATCHes waiting to be applied during the "
        f"run; all applied {drained_after:.1f} s after the last one"
    )
    print(
        f"CPU seconds during the PATCHes (2 cores = {2 * args.patch_seconds} available): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu_used.items())
    )
    cpu_ms = {name: seconds * 1000 / max(requests, 1) for name, seconds in cpu_used.items()}
    print("CPU ms a PATCH: " + ", ".join(f"{name} {ms:.3f}" for name, ms in cpu_ms.items()))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", wrk.stdout)
    assert p99 is not None
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return PatchFigures(rate, p99_ms, cpu_ms)


def cpu_since(
    before: dict[str, float], children: dict[str, subprocess.Popen[bytes]], finished: str
) -> dict[str, float]:
    return {name: now - before[name] for name, now in cpu_seconds(children, finished).items()}


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = sum(int(value) for value in fields[11:15]) / ticks
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(process_tree_cpu(int(kid)) for kid in kids)


def cpu_seconds(children: dict[str, subprocess.Popen[bytes]], finished: str) -> dict[str, float]:
    """CPU time so far of the finished children of this script (named `finished`: the pull,
    or wrk), of each server we started (the sandbox, the Celery worker, gunicorn), of the
    local PostgreSQL and Redis servers (whole: other work on them counts too) and of the
    whole machine less those (other load)."""
    ticks = os.sysconf("SC_CLK_TCK")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    servers = {name: process_tree_cpu(child.pid) for name, child in children.items()}
    redis_cpu = redis.Redis.from_url(bench_redis_url()).info("cpu")
    shared = {
        "PostgreSQL": postgres_server_cpu(),
        "Redis": float(redis_cpu["used_cpu_sys"]) + float(redis_cpu["used_cpu_user"]),
    }
    cpu = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = (sum(cpu) - cpu[3] - cpu[4]) / ticks
    reaped = usage.ru_utime + usage.ru_stime
    return {
        finished: reaped,
        **servers,
        **shared,
        "rest": busy - reaped - sum(servers.values()) - sum(shared.values()),
    }


def postgres_server_cpu() -> float:
    """CPU seconds so far of the local PostgreSQL server: its postmaster, the processes it
    runs (each database's backends, the background writers) and those that ended (a backend
    whose client closed its connection)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
            if argv[0].endswith(b"/postgres") and b"-D" in argv:
                return process_tree_cpu(int(cmdline.parent.name))
        except (OSError, ValueError):  # the process ended meanwhile
            continue
    return 0.0


class StatusQueueWatch:
    """How far the batched status writer falls behind the receiver: the longest the Redis
    queue of accepted status PATCHes grew, and how long after the last PATCH it was empty."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.client.delete(STATUS_QUEUE)  # nothing left from an earlier run
        self.most = 0
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.most = 0
        self.stopping.clear()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self) -> None:
        while not self.stopping.wait(0.2):
            self.most = max(self.most, int(self.client.llen(STATUS_QUEUE)))

    def stop(self, patience: float = 300) -> float:
        self.stopping.set()
        assert self.thread is not None
        self.thread.join()
        stopped = time.monotonic()
        while self.client.llen(STATUS_QUEUE) and time.monotonic() - stopped < patience:
            time.sleep(0.05)
        return time.monotonic() - stopped


def feed_shape(database_url: str) -> tuple[int, int]:
    """How many EVSEs and connectors the pull wrote (the issue's feed: ~2.5 EVSEs a location)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM locator_evse), (SELECT count(*) FROM locator_connector)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def evse_paths(env: dict[str, str], database_url: str) -> list[str]:
    """Receiver URLs of every EVSE, and a known token for the bench to push with (set through
    the models, so the web processes that remember the partner hear of it)."""
    processes.manage(
        env,
        "shell",
        "-c",
        "from roaming.crypto import token_hash; from roaming.models import Partner; "
        "Partner.objects.filter(name='Bench CPO')"
        f".update(inbound_token_hash=token_hash({PUSH_TOKEN!r}))",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT l.country_code, l.party_id, l.ocpi_id, e.uid FROM locator_evse e "
            "JOIN locator_location l ON l.id = e.location_id"
        ).fetchall()
    return [f"/ocpi/2.2.1/locations/{cc}/{party}/{loc}/{uid}" for cc, party, loc, uid in rows]


if __name__ == "__main__":
    main()
