"""Reorder the station table on disk by map cell (PostgreSQL `CLUSTER`), then ANALYZE.

Partners send stations in id order, so neighbours end up on different disk pages and a dense
city search reads thousands of pages. After a big initial load (and now and then, e.g.
weekly), `python manage.py catalogue_cluster` puts each map cell's stations together. CLUSTER
locks the table while it runs: a few seconds per 100k stations.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Reorder stations on disk by map cell so nearby stations share pages (PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Only PostgreSQL needs (and supports) this; nothing to do here.")
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("CLUSTER locator_location USING location_cell")
            cursor.execute("ANALYZE locator_location")
        self.stdout.write(f"Stations reordered by map cell in {time.monotonic() - started:.1f} s.")
