"""Reorder the station table on disk by place (PostgreSQL `CLUSTER` on the GiST of Mercator
points, migration 0013), then ANALYZE.

Partners send stations in id order, so neighbours end up on different disk pages and a search
reads a page for each station it looks at. After a big initial load (and now and then, e.g.
weekly), `python manage.py catalogue_cluster` puts neighbours together: the index's leaves hold
nearby points, so a nearest-first search reads a few pages where it read one a station. CLUSTER
locks the table while it runs: a few seconds per 100k stations.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Reorder stations on disk by place so nearby stations share pages (PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Only PostgreSQL needs (and supports) this; nothing to do here.")
        started = time.monotonic()
        with connection.cursor() as cursor:
            # CLUSTER writes rows in the order it reads the index. Rebuilt first, the index is
            # sorted along a space-filling curve; after many single inserts its leaves are not,
            # and a search read about 1.7 times as many pages.
            cursor.execute("REINDEX INDEX location_mercator")
            cursor.execute("CLUSTER locator_location USING location_mercator")
            cursor.execute("ANALYZE locator_location")
        self.stdout.write(f"Stations reordered by place in {time.monotonic() - started:.1f} s.")
