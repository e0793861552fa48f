"""Load made-up stations around European cities, so the map has something to show before any
partner is connected: `python manage.py catalogue_demo --locations 2000`."""

import time
from argparse import ArgumentParser
from itertools import islice
from typing import Any

from django.core.management.base import BaseCommand

from locator import demo
from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from locator.models import Location

BATCH = 1000


class Command(BaseCommand):
    help = "Load a demo catalogue (stations around 20 European cities) through the upsert path."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--locations", type=int, default=2000)
        parser.add_argument("--source", default="demo")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the catalogue already has stations (used by scripts/dev.py run).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source, count = options["source"], options["locations"]
        if options["if_empty"] and Location.objects.exists():
            return
        self.stdout.write(f"Loading {count} demo stations (source {source!r})...")
        catalogue_tariffs_upsert(source=source, records=demo.demo_tariffs("NL", "PLW"))
        records = demo.demo_locations(demo.DEMO_CITIES, count, seed=options["seed"])
        started, written = time.monotonic(), 0
        while batch := list(islice(records, BATCH)):
            written += catalogue_locations_upsert(source=source, records=batch).written
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{written} demo stations written in {elapsed:.1f} s "
            f"({written / max(elapsed, 1e-6):,.0f} locations/s)."
        )
