#!/usr/bin/env python3
"""Benchmark the sandbox CPO: start-up time, and a full paged pull of every location.

    .venv/bin/python bench/sandbox_pull.py                       # 2,000 start-up + 100,000 pull
    .venv/bin/python bench/sandbox_pull.py --stations 100000 --startup-stations 2000 --limit 1000

It runs `manage.py sandbox_cpo` as a real process on a free loopback port, exactly as a user
would, and talks to it with a plain HTTP client (httpx, no Plugway code):
1. start-up: wall time from spawning the command until its versions endpoint answers;
2. pull: register with token A (a tiny stdlib receiver answers the call-back with token B), then
   GET /locations and follow `Link` to the end on one keep-alive connection, and print MB/s and
   pages/s over the whole pull. Bodies are counted, not parsed, so the figure is the server's.
Goals (issue 3): start-up < 3 s at 2,000 stations; >= 20 MB/s at 100,000.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 (after the path is set)

TOKEN_A = "bench-token-a"  # noqa: S105 - a throwaway local token
TOKEN_B = "bench-token-b"  # noqa: S105


def auth(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def start_sandbox(stations: int) -> tuple[subprocess.Popen[bytes], str, float]:
    """Spawn the command; return it, its versions URL and the seconds until it answered."""
    started = time.perf_counter()
    process, url = processes.sandbox_start(
        dict(os.environ), processes.free_port(), stations, token_a=TOKEN_A
    )
    processes.wait_for(url, seconds=600, poll=0.02, child=process)
    return process, url, time.perf_counter() - started


def receiver() -> tuple[ThreadingHTTPServer, str]:
    """A minimal eMSP: versions and version details, enough for the credentials call-back."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{cast(ThreadingHTTPServer, self.server).server_port}"
            if self.path == "/versions":
                data: Any = [{"version": "2.2.1", "url": f"{base}/2.2.1"}]
            else:
                data = {
                    "version": "2.2.1",
                    "endpoints": [
                        {
                            "identifier": "credentials",
                            "role": "SENDER",
                            "url": f"{base}/credentials",
                        }
                    ],
                }
            body = orjson.dumps(
                {"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/versions"


def register(versions_url: str, emsp_versions_url: str) -> str:
    base = versions_url.removesuffix("versions")
    reply = httpx.post(
        f"{base}2.2.1/credentials",
        headers=auth(TOKEN_A),
        json={
            "token": TOKEN_B,
            "url": emsp_versions_url,
            "roles": [
                {
                    "role": "EMSP",
                    "business_details": {"name": "Bench"},
                    "party_id": "BNC",
                    "country_code": "NL",
                }
            ],
        },
        timeout=30,
    )
    token_c: str = reply.json()["data"]["token"]
    return token_c


def pull(versions_url: str, token_c: str, limit: int) -> tuple[int, int, int, float]:
    """Follow Link through every location page: (pages, bytes, total count, seconds)."""
    url: str | None = f"{versions_url.removesuffix('versions')}2.2.1/locations?limit={limit}"
    pages = size = total = 0
    started = time.perf_counter()
    with httpx.Client(headers=auth(token_c), timeout=60) as client:
        while url:
            reply = client.get(url)
            reply.raise_for_status()
            pages += 1
            size += len(reply.content)
            total = int(reply.headers["X-Total-Count"])
            url = reply.links.get("next", {}).get("url")
    return pages, size, total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=100_000, help="stations for the pull")
    parser.add_argument(
        "--startup-stations", type=int, default=2000, help="stations for the start-up measurement"
    )
    parser.add_argument("--limit", type=int, default=1000, help="page size asked for")
    args = parser.parse_args()

    process, _, seconds = start_sandbox(args.startup_stations)
    process.terminate()
    process.wait()
    print(f"start-up with {args.startup_stations} stations: {seconds:.2f} s (goal < 3 s)")

    process, versions_url, seconds = start_sandbox(args.stations)
    print(f"start-up with {args.stations} stations: {seconds:.2f} s")
    server, emsp_versions_url = receiver()
    try:
        token_c = register(versions_url, emsp_versions_url)
        for label in ("first pull (serialises)", "second pull (cached)"):
            pages, size, total, elapsed = pull(versions_url, token_c, args.limit)
            print(
                f"{label}: {total} locations, {pages} pages, {size / 1e6:.1f} MB in "
                f"{elapsed:.2f} s = {size / 1e6 / elapsed:.1f} MB/s, {pages / elapsed:.1f} pages/s "
                f"(goal >= 20 MB/s)"
            )
    finally:
        server.shutdown()
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
