#!/usr/bin/env python3
"""Roaming benchmark: full pull of a big sandbox CPO into PostgreSQL, then status PATCHes/s.

    .venv/bin/python bench/roaming_ingest.py [--locations 100000] [--patch-seconds 20]

1. Starts a sandbox CPO (`manage.py sandbox_cpo`) with --locations stations, and the app as in
   production: gunicorn (DEBUG off) on a fresh PostgreSQL database, Redis, and a Celery worker
   (which refreshes the map's cluster grid after writes).
2. Registers with the sandbox through the real handshake and runs `partner_sync --full`:
   prints locations/s end to end (HTTP paging, parsing, validation, bulk upsert, aggregates).
3. Drives EVSE status PATCHes at our locations receiver with wrk (Debian package `wrk`) and
   prints PATCHes/s and latency, and how far the batched status writer fell behind (accepted
   PATCHes wait in a Redis queue until a Celery task applies them: a rate it cannot keep up
   with is not sustained).

Not a test: it prints figures. Needs PostgreSQL (BENCH_DATABASE_URL), Redis (BENCH_REDIS_URL)
and wrk; defaults below.
"""

import argparse
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/plugway_bench_roaming"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
PUSH_TOKEN = "bench-push-token"  # noqa: S105 (only in the benchmark's throwaway database)
STATUS_QUEUE = "roaming:evse-status-pushes"  # locator.catalogue.status_queue.QUEUE_KEY

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer within {seconds:.0f} s")


def fresh_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=100_000)
    parser.add_argument("--patch-seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    args = parser.parse_args()
    wrk_path = shutil.which("wrk")
    if not wrk_path:
        sys.exit("wrk is not installed: apt-get install wrk")
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    fresh_database(database_url)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    status_queue = StatusQueueWatch(redis_url)
    app_port, cpo_port = free_port(), free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SITE_URL": f"http://127.0.0.1:{app_port}",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
    }
    manage(env, "migrate", "--no-input")

    children: list[subprocess.Popen[bytes]] = []
    try:
        started = time.monotonic()
        children.append(
            subprocess.Popen(
                [
                    PYTHON,
                    "manage.py",
                    "sandbox_cpo",
                    "--port",
                    str(cpo_port),
                    "--stations",
                    str(args.locations),
                    "--seed",
                    "7",
                    "--token-a",
                    "bench-a",
                    "--quiet",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        versions_url = f"http://127.0.0.1:{cpo_port}/ocpi/versions"
        wait_for(versions_url)
        print(f"sandbox with {args.locations:,} stations up in {time.monotonic() - started:.1f} s")
        children.append(
            subprocess.Popen(
                [
                    str(Path(PYTHON).parent / "gunicorn"),
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{app_port}",
                    "--workers",
                    str(args.workers),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        wait_for(f"http://127.0.0.1:{app_port}/healthz")
        children.append(
            subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--concurrency",
                    "1",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
            )
        )

        print(
            manage(
                env,
                "partner_register",
                "--name",
                "Bench CPO",
                "--versions-url",
                versions_url,
                "--token",
                "bench-a",
            ).strip()
        )
        cpu_before = cpu_seconds(children, "pull")
        started = time.monotonic()
        summary = manage(env, "partner_sync", "Bench CPO", "--full", "--verbosity", "0").strip()
        elapsed = time.monotonic() - started
        cpu_used = cpu_since(cpu_before, children, "pull")
        received = int(re.search(r"(\d+) received", summary).group(1))  # type: ignore[union-attr]
        tariffs = received - args.locations
        print(summary)
        evses, connectors = feed_shape(database_url)
        print(f"FEED: {args.locations:,} locations, {evses:,} EVSEs, {connectors:,} connectors")
        print(
            f"INGEST: {args.locations:,} locations (+{tariffs} tariffs) in {elapsed:.1f} s "
            f"= {args.locations / elapsed:,.0f} locations/s end to end (command start-up included)"
        )
        print(
            f"CPU seconds during the pull (2 cores = {2 * elapsed:.0f} available): "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu_used.items())
        )

        paths = evse_paths(env, database_url)
        with tempfile.TemporaryDirectory() as tmp:
            lua = Path(tmp) / "patch.lua"
            paths_file = Path(tmp) / "paths.txt"
            paths_file.write_text("\n".join(random.sample(paths, min(len(paths), 50_000))))
            lua.write_text(PATCH_LUA % {"paths": paths_file, "token": PUSH_TOKEN})
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
                    f"http://127.0.0.1:{app_port}",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        drained_after = status_queue.stop()
        cpu_used = cpu_since(cpu_before, children, "wrk")
        print(wrk.stdout)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", wrk.stdout)
        print(
            f"PATCH: {float(rate.group(1)):,.0f} EVSE status PATCHes/s through HTTP "  # type: ignore[union-attr]
            f"(gunicorn, {args.workers} sync workers, PostgreSQL, wrk on the same 2 cores)"
        )
        print(
            f"STATUS QUEUE: at most {status_queue.most:,} PATCHes waiting to be applied during the "
            f"run; all applied {drained_after:.1f} s after the last one"
        )
        print(
            f"CPU seconds during the PATCHes (2 cores = {2 * args.patch_seconds} available): "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu_used.items())
        )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def cpu_since(
    before: dict[str, float], children: list[subprocess.Popen[bytes]], finished: str
) -> dict[str, float]:
    return {name: now - before[name] for name, now in cpu_seconds(children, finished).items()}


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = sum(int(value) for value in fields[11:15]) / ticks
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(process_tree_cpu(int(kid)) for kid in kids)


def cpu_seconds(children: list[subprocess.Popen[bytes]], finished: str) -> dict[str, float]:
    """CPU time so far of the finished children of this script (named `finished`: the pull,
    or wrk), the sandbox, the Celery worker, gunicorn and of the whole machine less those
    (PostgreSQL and Redis, mostly)."""
    ticks = os.sysconf("SC_CLK_TCK")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    sandbox, gunicorn, worker = (process_tree_cpu(child.pid) for child in children)
    cpu = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = (sum(cpu) - cpu[3] - cpu[4]) / ticks
    reaped = usage.ru_utime + usage.ru_stime
    return {
        finished: reaped,
        "sandbox": sandbox,
        "celery": worker,
        "gunicorn": gunicorn,
        "rest (PostgreSQL, Redis, ...)": busy - reaped - sandbox - worker - gunicorn,
    }


class StatusQueueWatch:
    """How far the batched status writer falls behind the receiver: the longest the Redis
    queue of accepted status PATCHes grew, and how long after the last PATCH it was empty."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.client.delete(STATUS_QUEUE)  # nothing left from an earlier run
        self.most = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def watch(self) -> None:
        while not self.stopping.wait(0.2):
            self.most = max(self.most, int(self.client.llen(STATUS_QUEUE)))

    def stop(self, patience: float = 300) -> float:
        self.stopping.set()
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
    manage(
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
