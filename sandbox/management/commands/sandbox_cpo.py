"""`manage.py sandbox_cpo`: run the sandbox OCPI 2.2.1 CPO until stopped.

    python manage.py sandbox_cpo --port 9100 --stations 2000 --seed 7 --token-a sandbox-a \\
        [--country NL --party SBX] [--region "52.37,4.90"] [--status-churn 2] \\
        [--latency-ms 0] [--fail-rate 0] [--invalid-locations 0] [--accept-raw-tokens] \\
        [--push-interval 5] [--command-delay 1]

It prints its versions URL and token A, then logs one line per request. An eMSP registers by
POSTing its credentials to /ocpi/2.2.1/credentials with token A, and receives token C.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.config import SandboxConfig
from sandbox.server import SandboxCpo


def _region(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f'--region takes "lat,lon", e.g. "52.37,4.90", not {text!r}'
        ) from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError(f"--region {text!r} is not a point on Earth")
    return lat, lon


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("--fail-rate is a share between 0 and 1, e.g. 0.05")
    return value


class Command(BaseCommand):
    help = (
        "Run a sandbox OCPI 2.2.1 CPO with simulated stations and charging, in memory, until "
        "stopped. It prints its versions URL and token A; an eMSP registers with token A "
        "(credentials POST) and gets token C. Deterministic for a seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SandboxConfig()
        parser.add_argument("--host", default=defaults.host, help="address to bind")
        parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
        parser.add_argument(
            "--stations",
            type=int,
            default=defaults.stations,
            help="number of locations (sites) to generate",
        )
        parser.add_argument(
            "--seed", type=int, default=defaults.seed, help="same seed, same stations"
        )
        parser.add_argument(
            "--token-a", default=defaults.token_a, help="the registration token an eMSP uses once"
        )
        parser.add_argument(
            "--country", default=defaults.country_code, help="our OCPI country_code"
        )
        parser.add_argument("--party", default=defaults.party_id, help="our OCPI party_id")
        parser.add_argument(
            "--region",
            type=_region,
            default=None,
            help='"lat,lon": only the three built-in cities nearest to it',
        )
        parser.add_argument(
            "--status-churn",
            type=float,
            default=0.0,
            help="random EVSE status changes a second, PATCHed to the eMSP",
        )
        parser.add_argument("--latency-ms", type=int, default=0, help="added to every request")
        parser.add_argument(
            "--fail-rate",
            type=_share,
            default=0.0,
            help="share of module requests answered 500, malformed JSON, or "
            "held until the client times out",
        )
        parser.add_argument(
            "--fault-delay",
            type=float,
            default=defaults.fault_delay,
            help="seconds a 'timing out' request is held",
        )
        parser.add_argument(
            "--invalid-locations",
            type=int,
            default=0,
            help="serve this many locations invalid in list pages",
        )
        parser.add_argument(
            "--accept-raw-tokens",
            action="store_true",
            help="also accept 'Authorization: Token <raw token>' (2.1.1 style)",
        )
        parser.add_argument(
            "--push-interval",
            type=float,
            default=defaults.push_interval,
            help="seconds between session PATCHes",
        )
        parser.add_argument(
            "--command-delay",
            type=float,
            default=defaults.command_delay,
            help="seconds before a CommandResult is POSTed",
        )
        parser.add_argument(
            "--vehicle-kwh",
            type=float,
            default=None,
            help="energy a car takes until full (default: random 8-60 kWh)",
        )
        parser.add_argument(
            "--public-url",
            default=None,
            help="base URL others reach the sandbox at (default http://HOST:PORT), used in "
            "versions, endpoints and Link headers",
        )
        parser.add_argument("--quiet", action="store_true", help="do not log each request")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stations"] < 1:
            raise CommandError("--stations must be at least 1")
        if len(options["party"]) != 3 or len(options["country"]) != 2:
            raise CommandError("--country takes 2 letters and --party 3 characters (OCPI ids)")
        config = SandboxConfig(
            host=options["host"],
            port=options["port"],
            stations=options["stations"],
            seed=options["seed"],
            token_a=options["token_a"],
            country_code=options["country"].upper(),
            party_id=options["party"].upper(),
            region=options["region"],
            status_churn=options["status_churn"],
            latency_ms=options["latency_ms"],
            fail_rate=options["fail_rate"],
            fault_delay=options["fault_delay"],
            invalid_locations=options["invalid_locations"],
            accept_raw_tokens=options["accept_raw_tokens"],
            push_interval=options["push_interval"],
            command_delay=options["command_delay"],
            vehicle_kwh=options["vehicle_kwh"],
            log_requests=not options["quiet"],
            public_url=options["public_url"],
        )
        logging.getLogger("sandbox").setLevel(logging.INFO)
        # Our push log already has one line per push; httpx would repeat each at INFO.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        started = time.perf_counter()
        try:
            sandbox = SandboxCpo(config)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {config.host}:{config.port}: {exc}") from exc
        # The catalogue lives as long as the process: keep the GC from re-scanning it.
        gc.freeze()
        self.stdout.write(
            f"Sandbox CPO {config.country_code}/{config.party_id}: {config.stations} stations "
            f"ready in {time.perf_counter() - started:.2f}s\n"
            f"  versions URL: {sandbox.versions_url}\n"
            f"  token A:      {config.token_a}"
        )
        sys.stdout.flush()
        try:
            sandbox.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()
