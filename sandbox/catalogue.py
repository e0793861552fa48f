"""The sandbox CPO's stations and tariffs in memory, with the bytes it serves them as.

Each Location is serialised once and kept as JSON bytes until it changes, so a full paged pull
is mostly `b",".join(...)`: that is what makes 100,000 stations cheap to serve.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from sandbox.cities import CITIES, City, afdc_sites, cities_near
from sandbox.config import SandboxConfig
from sandbox.dialects import DIALECTS
from sandbox.push import JSON_OPTIONS
from sandbox.stations import locations_generate, site_locations
from sandbox.tariffs import tariffs_generate


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: millions of fresh dicts would trigger it over and over (3-4x the
    generation time at 100,000 stations), and none of them is garbage yet."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def party_ids(config: SandboxConfig) -> list[str]:
    """The party ids the sandbox's locations are dealt over (see SandboxConfig.parties)."""
    if config.parties <= 1:
        return [config.party_id]
    return [f"{config.party_id[0]}{number:02d}" for number in range(1, config.parties + 1)]


def _locations(
    config: SandboxConfig, cities: tuple[City, ...], now: datetime
) -> Iterator[dict[str, Any]]:
    if config.sites:
        return site_locations(
            afdc_sites(Path(config.sites))[: config.stations],
            seed=config.seed,
            country_code=config.country_code,
            party_ids=party_ids(config),
            now=now,
        )
    return locations_generate(
        count=config.stations,
        seed=config.seed,
        country_code=config.country_code,
        party_id=config.party_id,
        cities=cities,
        now=now,
    )


class Catalogue:
    """Locations (with EVSEs and connectors) and tariffs, guarded by one lock."""

    def __init__(self, config: SandboxConfig) -> None:
        cities = cities_near(*config.region) if config.region else CITIES
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        with _gc_paused():
            locations = list(_locations(config, cities, self.started_at))
            self.evses: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
                evse["uid"]: (loc, evse) for loc in locations for evse in loc["evses"]
            }
        self.dialect = DIALECTS[config.ocpi_version]
        self.lock = threading.RLock()
        self.locations: dict[str, dict[str, Any]] = {loc["id"]: loc for loc in locations}
        self.order: list[str] = list(self.locations)
        self.tariffs: dict[str, dict[str, Any]] = {
            t["id"]: t
            for t in tariffs_generate(country_code=config.country_code, party_id=config.party_id)
        }
        # Spread the deliberately broken locations over the list, one every `step`.
        broken = min(config.invalid_locations, len(self.order))
        step = max(1, len(self.order) // broken) if broken else 0
        self.invalid_ids = {self.order[i * step] for i in range(broken)}
        self._bytes: dict[str, bytes] = {}
        self._filtered: tuple[tuple[Any, ...], list[str]] | None = None
        self.version = 0

    def location_bytes(self, location_id: str) -> bytes:
        cached = self._bytes.get(location_id)
        if cached is None:
            location = self.locations[location_id]
            if location_id in self.invalid_ids:
                # Fault injection: a location a strict receiver must reject (and skip).
                location = {k: v for k, v in location.items() if k != "coordinates"}
                location["country"] = "Netherlands"
            location = self.dialect.outbound("location", location)
            cached = self._bytes[location_id] = orjson.dumps(location, option=JSON_OPTIONS)
        return cached

    def location_ids(self, date_from: datetime | None, date_to: datetime | None) -> list[str]:
        """Ids of the locations last updated in [date_from, date_to), in a stable order."""
        if date_from is None and date_to is None:
            return self.order
        key = (date_from, date_to, self.version)
        if self._filtered and self._filtered[0] == key:
            return self._filtered[1]
        ids = [
            location_id
            for location_id in self.order
            if _in_window(self.locations[location_id]["last_updated"], date_from, date_to)
        ]
        self._filtered = (key, ids)
        return ids

    def evse_status_set(self, evse_uid: str, status: str, now: datetime) -> dict[str, Any]:
        """Change an EVSE's status (and its location's last_updated); return the PATCH body."""
        with self.lock:
            location, evse = self.evses[evse_uid]
            evse["status"] = status
            evse["last_updated"] = location["last_updated"] = now
            self._bytes.pop(location["id"], None)
            self.version += 1
        return {"status": status, "last_updated": now}

    def location_change(self, location_id: str, now: datetime, **changes: Any) -> dict[str, Any]:
        """Change a location's own fields (its name, its publication, ...), dated `now`, as an
        operator does between two pulls (tests play it); return the location."""
        with self.lock:
            location = self.locations[location_id]
            location.update(changes, last_updated=now)
            self._bytes.pop(location_id, None)
            self.version += 1
        return location

    def tariff_change(self, tariff_id: str, now: datetime, **changes: Any) -> dict[str, Any]:
        """Change a tariff's fields (its elements, ...), dated `now`; return the tariff."""
        with self.lock:
            tariff = self.tariffs[tariff_id]
            tariff.update(changes, last_updated=now)
        return tariff


def _in_window(stamp: datetime, date_from: datetime | None, date_to: datetime | None) -> bool:
    return (date_from is None or stamp >= date_from) and (date_to is None or stamp < date_to)


def window_filter(
    items: list[dict[str, Any]], date_from: datetime | None, date_to: datetime | None
) -> list[dict[str, Any]]:
    """The objects whose last_updated lies in [date_from, date_to)."""
    return [item for item in items if _in_window(item["last_updated"], date_from, date_to)]
