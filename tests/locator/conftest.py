"""Catalogue fixtures: records built like a partner would send them, and a fake geocoder."""

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from locator.catalogue import (
    ConnectorRecord,
    EvseRecord,
    LocationRecord,
    TariffRecord,
    catalogue_locations_upsert,
    catalogue_tariffs_upsert,
)
from locator.models import Location

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SOURCE = "partner:1"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def connector(
    standard: str = "IEC_62196_T2",
    kw: int = 22,
    cid: str = "1",
    tariffs: tuple[str, ...] = ("AC",),
    when: datetime = T0,
) -> ConnectorRecord:
    dc = standard in ("IEC_62196_T2_COMBO", "IEC_62196_T1_COMBO", "CHADEMO")
    return ConnectorRecord(
        cid,
        standard,
        "CABLE" if dc else "SOCKET",
        "DC" if dc else "AC_3_PHASE",
        400,
        32,
        when,
        kw * 1000,
        tariffs,
    )


def evse(
    uid: str, status: str = "AVAILABLE", *connectors: ConnectorRecord, when: datetime = T0
) -> EvseRecord:
    return EvseRecord(
        uid, status, when, connectors or (connector(when=when),), evse_id=f"NL*PLW*E{uid}"
    )


def location(
    ocpi_id: str = "LOC1",
    *,
    lat: float = 52.3702,
    lon: float = 4.8952,
    evses: tuple[EvseRecord, ...] | None = None,
    when: datetime = T0,
    **fields: Any,
) -> LocationRecord:
    values: dict[str, Any] = {
        "name": f"Station {ocpi_id}",
        "operator_name": "Voltway",
        "city": "Amsterdam",
        "address": "Damrak 1",
        "country": "NLD",
        "time_zone": "Europe/Amsterdam",
    }
    values.update(fields)
    return LocationRecord(
        country_code="NL",
        party_id="PLW",
        id=ocpi_id,
        latitude=lat,
        longitude=lon,
        last_updated=when,
        evses=evses if evses is not None else (evse(f"{ocpi_id}-1", when=when),),
        **values,
    )


@pytest.fixture
def put() -> Callable[..., Location]:
    """Write one location record through the real upsert path; return its row."""

    def _put(record: LocationRecord, source: str = SOURCE) -> Location:
        catalogue_locations_upsert(source=source, records=[record])
        return Location.objects.get(source=source, ocpi_id=record.id)

    return _put


# An AC tariff and a DC one with a time fee after an hour, as partners send them.
TARIFFS = [
    TariffRecord(
        "NL",
        "PLW",
        "AC",
        "EUR",
        T0,
        elements=({"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]},),
    ),
    TariffRecord(
        "NL",
        "PLW",
        "DC",
        "EUR",
        T0,
        elements=(
            {"price_components": [{"type": "ENERGY", "price": 0.49, "step_size": 1}]},
            {
                "price_components": [{"type": "TIME", "price": 6.0, "step_size": 60}],
                "restrictions": {"min_duration": 3600},
            },
        ),
    ),
]


@pytest.fixture
def tariffs() -> None:
    catalogue_tariffs_upsert(source=SOURCE, records=TARIFFS)


def _photon_feature(place: dict[str, Any]) -> dict[str, Any]:
    """A Nominatim result as Photon's /api would give it (GeoJSON, `extent` W, N, E, S)."""
    properties: dict[str, Any] = {"name": place["display_name"]}
    if "boundingbox" in place:
        south, north, west, east = (float(v) for v in place["boundingbox"])
        properties["extent"] = [west, north, east, south]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(place["lon"]), float(place["lat"])]},
        "properties": properties,
    }


class FakeGeocoder:
    """A Nominatim-compatible /search, and a Photon-compatible /api, answering from `places`
    (lower-case query -> one result or a list of them)."""

    def __init__(self) -> None:
        self.places: dict[str, dict[str, Any]] = {}
        self.queries: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query).get("q", [""])[0]
                outer.queries.append(query)
                found = outer.places.get(query.lower()) or []
                results = found if isinstance(found, list) else [found]
                if self.path.startswith("/api"):
                    answer: Any = {
                        "type": "FeatureCollection",
                        "features": [_photon_feature(r) for r in results],
                    }
                else:
                    answer = results
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="session")
def fake_geocoder_server() -> Iterator[FakeGeocoder]:
    fake = FakeGeocoder()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def fake_geocoder(fake_geocoder_server: FakeGeocoder, settings: Any) -> FakeGeocoder:
    fake_geocoder_server.places.clear()
    fake_geocoder_server.queries.clear()
    settings.LOCATOR_GEOCODER_URL = fake_geocoder_server.url
    return fake_geocoder_server
