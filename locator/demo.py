"""Made-up stations around real places: the embedded default's demo catalogue and the
benchmark's million EVSEs come from the same generator.

The records go through the real write path (`catalogue_locations_upsert`), so a demo station
behaves exactly like one a partner pushed.
"""

import csv
import gzip
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from locator.catalogue import ConnectorRecord, EvseRecord, LocationRecord, TariffRecord


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float
    city: str
    country: str  # ISO 3166 alpha-3
    time_zone: str
    postal_code: str = ""


DEMO_CITIES: tuple[Place, ...] = (
    Place(52.5200, 13.4050, "Berlin", "DEU", "Europe/Berlin"),
    Place(48.1372, 11.5756, "Munich", "DEU", "Europe/Berlin"),
    Place(53.5511, 9.9937, "Hamburg", "DEU", "Europe/Berlin"),
    Place(50.9375, 6.9603, "Cologne", "DEU", "Europe/Berlin"),
    Place(48.8566, 2.3522, "Paris", "FRA", "Europe/Paris"),
    Place(45.7640, 4.8357, "Lyon", "FRA", "Europe/Paris"),
    Place(52.3676, 4.9041, "Amsterdam", "NLD", "Europe/Amsterdam"),
    Place(51.9244, 4.4777, "Rotterdam", "NLD", "Europe/Amsterdam"),
    Place(50.8503, 4.3517, "Brussels", "BEL", "Europe/Brussels"),
    Place(48.2082, 16.3738, "Vienna", "AUT", "Europe/Vienna"),
    Place(47.3769, 8.5417, "Zurich", "CHE", "Europe/Zurich"),
    Place(45.4642, 9.1900, "Milan", "ITA", "Europe/Rome"),
    Place(40.4168, -3.7038, "Madrid", "ESP", "Europe/Madrid"),
    Place(41.3874, 2.1686, "Barcelona", "ESP", "Europe/Madrid"),
    Place(51.5072, -0.1276, "London", "GBR", "Europe/London"),
    Place(55.6761, 12.5683, "Copenhagen", "DNK", "Europe/Copenhagen"),
    Place(59.9139, 10.7522, "Oslo", "NOR", "Europe/Oslo"),
    Place(59.3293, 18.0686, "Stockholm", "SWE", "Europe/Stockholm"),
    Place(50.0755, 14.4378, "Prague", "CZE", "Europe/Prague"),
    Place(52.2297, 21.0122, "Warsaw", "POL", "Europe/Warsaw"),
)
OPERATORS = ("Voltway", "GreenCharge", "CityPlug", "Highway Power", "Stadtwerke Strom")
STREETS = (
    "Main Street",
    "Station Road",
    "Park Avenue",
    "Market Square",
    "Harbour Way",
    "Ring Road",
)
FACILITIES = ("SUPERMARKET", "CAFE", "RESTAURANT", "PARKING_LOT", "WIFI", "HOTEL", "MALL")
STATUS_WEIGHTS = (
    ("AVAILABLE", 55),
    ("CHARGING", 25),
    ("OUTOFORDER", 5),
    ("INOPERATIVE", 3),
    ("UNKNOWN", 7),
    ("RESERVED", 5),
)
SHOP_HOURS = {
    "twentyfourseven": False,
    "regular_hours": [
        {"weekday": day, "period_begin": "07:00", "period_end": "22:00"} for day in range(1, 7)
    ],
}


def demo_tariffs(country_code: str, party_id: str, currency: str = "EUR") -> list[TariffRecord]:
    """The tariffs the generated connectors point at: AC, DC, and DC with a time fee."""
    now = datetime.now(UTC)
    return [
        TariffRecord(
            country_code,
            party_id,
            "AC",
            currency,
            now,
            elements=(
                {
                    "price_components": [
                        {"type": "ENERGY", "price": 0.33, "vat": 19, "step_size": 1}
                    ]
                },
            ),
        ),
        TariffRecord(
            country_code,
            party_id,
            "DC",
            currency,
            now,
            elements=(
                {"price_components": [{"type": "ENERGY", "price": 0.49, "step_size": 1}]},
                {
                    "price_components": [{"type": "TIME", "price": 6.0, "step_size": 60}],
                    "restrictions": {"min_duration": 3600},
                },
            ),
        ),
    ]


def _evse(rng: random.Random, uid: str, us: bool, now: datetime) -> EvseRecord:
    status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
    if rng.random() < 0.35:
        kw = rng.choice((50, 150, 150, 300))
        standards = ["IEC_62196_T1_COMBO" if us else "IEC_62196_T2_COMBO"]
        if rng.random() < 0.3:
            standards.append("CHADEMO")
        connectors = tuple(
            ConnectorRecord(
                str(i + 1),
                standard,
                "CABLE",
                "DC",
                920,
                int(kw * 1000 / 920) + 1,
                now,
                kw * 1000,
                ("DC",),
            )
            for i, standard in enumerate(standards)
        )
    else:
        standard = "IEC_62196_T1" if us else "IEC_62196_T2"
        amps = rng.choice((16, 32))
        connectors = (
            ConnectorRecord(
                "1",
                standard,
                "SOCKET",
                "AC_1_PHASE" if us else "AC_3_PHASE",
                230,
                amps,
                now,
                None,
                ("AC",),
            ),
        )
    capabilities = ("REMOTE_START_STOP_CAPABLE", "RFID_READER")
    return EvseRecord(
        uid, status, now, connectors, evse_id=uid.replace("-", "*"), capabilities=capabilities
    )


def demo_locations(
    places: Sequence[Place],
    count: int,
    *,
    country_code: str = "NL",
    party_id: str = "PLW",
    seed: int = 1,
    spread_km: float = 6.0,
    remote_start: bool = True,
) -> Iterator[LocationRecord]:
    """`count` stations scattered around `places` (round-robin, normal spread of `spread_km`),
    1-4 EVSEs each (2.5 on average), with the statuses, power and hours real networks show."""
    rng = random.Random(seed)  # noqa: S311 (made-up data, not secrets)
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(count):
        place = places[n % len(places)]
        lat = place.lat + rng.gauss(0, spread_km / 111)
        lon = place.lon + rng.gauss(
            0, spread_km / (111 * max(0.2, math.cos(math.radians(place.lat))))
        )
        lat, lon = max(-89.9, min(89.9, lat)), max(-179.9, min(179.9, lon))
        us = place.country == "USA"
        location_id = f"LOC{n:07d}"
        evse_count = rng.choices((1, 2, 3, 4), (15, 35, 35, 15))[0]
        operator = OPERATORS[n % len(OPERATORS)]
        yield LocationRecord(
            country_code=country_code,
            party_id=party_id,
            id=location_id,
            name=f"{operator} {place.city} {n}",
            address=f"{rng.randint(1, 199)} {rng.choice(STREETS)}",
            city=place.city,
            postal_code=place.postal_code,
            country=place.country,
            latitude=round(lat, 6),
            longitude=round(lon, 6),
            time_zone=place.time_zone,
            last_updated=now,
            evses=tuple(
                _evse(rng, f"{country_code}-{party_id}-E{n:07d}-{i}", us, now)
                for i in range(evse_count)
            ),
            operator_name=operator,
            parking_type="PARKING_LOT",
            facilities=tuple(rng.sample(FACILITIES, rng.randint(0, 3))),
            opening_times=None if rng.random() < 0.8 else SHOP_HOURS,
            remote_start=remote_start,
        )


US_ZONES = ((-87.5, "America/New_York"), (-101.0, "America/Chicago"), (-115.0, "America/Denver"))


def afdc_places(path: Path) -> list[Place]:
    """Real US station sites (shared/data AFDC export) as places to scatter stations around."""
    places: list[Place] = []
    with gzip.open(path, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                lat, lon = float(row["Latitude"]), float(row["Longitude"])
            except (KeyError, ValueError):
                continue
            if not (15 < lat < 72 and -170 < lon < -50):
                continue  # the export's one bad row has lon 0
            zone = next((z for edge, z in US_ZONES if lon > edge), "America/Los_Angeles")
            zip_code = (row.get("ZIP") or "")[:10]
            places.append(Place(lat, lon, f"ZIP {zip_code}", "USA", zone, zip_code))
    return places
