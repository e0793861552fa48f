"""`manage.py sandbox_cpo`: run the sandbox OCPI 2.2.1 CPO until stopped.

    python manage.py sandbox_cpo --port 9100 --stations 2000 --seed 7 --token-a sandbox-a \\
        [--country NL --party SBX] [--region "52.37,4.90"] [--status-churn 2] \\
        [--sites ../shared/data/afdc_US_2022_min5cols_50270rows.csv.gz --parties 12] \\
        [--page-limit 500] \\
        [--status-refresh 3600] \\
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.config import SandboxConfig
from sandbox.dialects import VERSIONS
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


def _ocpi_version(text: str) -> str:
    if text not in VERSIONS:
        raise argparse.ArgumentTypeError(f"--ocpi-version is one of {', '.join(VERSIONS)}")
    return text


# The SandboxConfig fields each set by the option of the same name (`--status-churn` sets
# status_churn), defaulting to the field's default: (field, type or None for a switch, help).
OPTIONS: tuple[tuple[str, Callable[[str], Any] | None, str], ...] = (
    ("host", str, "address to bind"),
    ("port", int, "0 picks a free port"),
    ("stations", int, "number of locations (sites) to generate"),
    (
        "sites",
        str,
        "an AFDC export (../shared/data): a location at each of its real US sites, at most "
        "--stations of them, instead of generated ones",
    ),
    ("parties", int, "deal the locations over this many party ids, as a hub's feed"),
    ("page_limit", int, "the largest page served (X-Limit)"),
    ("seed", int, "same seed, same stations"),
    ("token_a", str, "the registration token an eMSP uses once"),
    ("region", _region, '"lat,lon": only the three built-in cities nearest to it'),
    ("status_churn", float, "random EVSE status changes a second, PATCHed to the eMSP"),
    (
        "status_refresh",
        float,
        "seconds within which every EVSE's unchanged status is PATCHed again (0: never)",
    ),
    ("latency_ms", int, "added to every request"),
    (
        "fail_rate",
        _share,
        "share of module requests answered 500, malformed JSON, or held until the client times out",
    ),
    ("fault_delay", float, "seconds a 'timing out' request is held"),
    ("invalid_locations", int, "serve this many locations invalid in list pages"),
    ("ocpi_version", _ocpi_version, "the OCPI version to speak: 2.1.1, 2.2.1 or 2.3.0"),
    ("accept_raw_tokens", None, "also accept 'Authorization: Token <raw token>' (2.1.1 style)"),
    ("push_interval", float, "seconds between session PATCHes"),
    ("command_delay", float, "seconds before a CommandResult is POSTed"),
    ("vehicle_kwh", float, "energy a car takes until full (default: random 8-60 kWh)"),
    (
        "public_url",
        str,
        "base URL others reach the sandbox at (default http://HOST:PORT), used in versions, "
        "endpoints and Link headers",
    ),
)


class Command(BaseCommand):
    help = (
        "Run a sandbox OCPI CPO (2.2.1, or --ocpi-version 2.1.1 or 2.3.0) with simulated "
        "stations and charging, in memory, until stopped. It prints its versions URL and "
        "token A; an eMSP registers with token A (credentials POST) and gets token C. "
        "Deterministic for a seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SandboxConfig()
        for field, kind, help_text in OPTIONS:
            flag = "--" + field.replace("_", "-")
            if kind is None:
                parser.add_argument(flag, action="store_true", help=help_text)
            else:
                parser.add_argument(
                    flag, type=kind, default=getattr(defaults, field), help=help_text
                )
        parser.add_argument(
            "--country", default=defaults.country_code, help="our OCPI country_code"
        )
        parser.add_argument("--party", default=defaults.party_id, help="our OCPI party_id")
        parser.add_argument("--quiet", action="store_true", help="do not log each request")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stations"] < 1:
            raise CommandError("--stations must be at least 1")
        if options["parties"] < 1 or options["page_limit"] < 1:
            raise CommandError("--parties and --page-limit must be at least 1")
        if options["sites"] and not Path(options["sites"]).is_file():
            raise CommandError(f"--sites: no file {options['sites']}")
        if len(options["party"]) != 3 or len(options["country"]) != 2:
            raise CommandError("--country takes 2 letters and --party 3 characters (OCPI ids)")
        config = SandboxConfig(
            **{field: options[field] for field, _, _ in OPTIONS},
            country_code=options["country"].upper(),
            party_id=options["party"].upper(),
            log_requests=not options["quiet"],
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
            f"Sandbox CPO {config.country_code}/{config.party_id}: "
            f"{len(sandbox.catalogue.order)} stations "
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
