"""Load the sandbox's made-up stations straight into the catalogue, without a sandbox CPO or a
pull: `python manage.py catalogue_demo --locations 2000`."""

import time
from argparse import ArgumentParser
from itertools import islice
from typing import Any

from django.core.management.base import BaseCommand

from locator.services import catalogue_locations_upsert, catalogue_tariffs_upsert
from sandbox.demo import demo_locations, demo_tariffs
from sandbox.stations import locations_generate

BATCH = 1000
COUNTRY_CODE, PARTY_ID = "NL", "PLW"


class Command(BaseCommand):
    help = "Load a demo catalogue (the sandbox's stations around 41 European cities)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--locations", type=int, default=2000)
        parser.add_argument("--source", default="demo")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        source, count = options["source"], options["locations"]
        self.stdout.write(f"Loading {count} demo stations (source {source!r})...")
        catalogue_tariffs_upsert(
            source=source, records=demo_tariffs(country_code=COUNTRY_CODE, party_id=PARTY_ID)
        )
        records = demo_locations(
            locations_generate(
                count=count, seed=options["seed"], country_code=COUNTRY_CODE, party_id=PARTY_ID
            )
        )
        started, written = time.monotonic(), 0
        while batch := list(islice(records, BATCH)):
            written += catalogue_locations_upsert(source=source, records=batch).written
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{written} demo stations written in {elapsed:.1f} s "
            f"({written / max(elapsed, 1e-6):,.0f} locations/s)."
        )
