"""Generate the sandbox's stations: deterministic for a seed, realistic in proportion.

Sites are spread around real city centres (denser near the centre), with 1-8 EVSEs each. About
two thirds are AC destination chargers (Type 2 sockets, 11 or 22 kW, a few 7.4 kW single-phase),
the rest DC fast or high-power sites (CCS cables 50-350 kW, some with CHAdeMO or a 43 kW AC
cable). Most sites are open 24/7; car parks, malls and supermarkets keep their own hours.
Around US places (`cities.afdc_cities`) the plugs are North American: J1772 (OCPI's
IEC_62196_T1) on single-phase 240 V, and CCS1.

`site_locations` puts one such station at each real site of an AFDC export instead, under its
registered name, dealt over several parties as a hub's feed is.

The one generator of made-up stations: the sandbox CPO serves them, and `sandbox.demo` reads
them into Plugway's catalogue (the demo command, the search benchmark, tests).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.cities import CITIES, City
from sandbox.tariffs import AC_TARIFF_IDS, DC_TARIFF_IDS

# Hardware (connectors) was last changed up to a year before a run; statuses are as of the run.
HARDWARE_AGE = timedelta(days=365)

OPERATORS = (
    ("Voltway", "https://voltway.example.com"),
    ("GreenPlug Networks", "https://greenplug.example.com"),
    ("CityCharge", "https://citycharge.example.com"),
    ("Ionic Roads", "https://ionicroads.example.com"),
    ("Kilowatt Kollektiv", "https://kilowatt.example.com"),
    ("Eurocharge", "https://eurocharge.example.com"),
)
_SITE_KINDS = (  # (name suffix, parking type, facilities, has opening hours)
    ("Car Park", "PARKING_GARAGE", ("PARKING_LOT",), True),
    ("Street", "ON_STREET", (), False),
    ("Supermarket", "PARKING_LOT", ("SUPERMARKET", "PARKING_LOT"), True),
    ("Mall", "UNDERGROUND_GARAGE", ("MALL", "RESTAURANT", "WIFI"), True),
    ("Hotel", "PARKING_LOT", ("HOTEL", "RESTAURANT", "WIFI"), False),
    ("Station", "PARKING_LOT", ("TRAIN_STATION", "CAFE"), False),
    ("Park & Ride", "PARKING_LOT", ("CARPOOL_PARKING", "BUS_STOP"), False),
)
_HUB_KINDS = (
    ("Fast Hub", "PARKING_LOT", ("RESTAURANT", "CAFE", "WIFI"), False),
    ("Motorway", "ALONG_MOTORWAY", ("FUEL_STATION", "RESTAURANT"), False),
)


def _coordinate(value: float) -> str:
    return f"{value:.6f}"


def _opening_times(rng: random.Random, has_hours: bool) -> dict[str, Any]:
    if not has_hours or rng.random() < 0.4:
        return {"twentyfourseven": True}
    opens, closes = rng.choice((("07:00", "22:00"), ("08:00", "20:00"), ("06:00", "23:59")))
    weekend_closes = rng.choice(("18:00", closes))
    return {
        "twentyfourseven": False,
        "regular_hours": [
            {
                "weekday": day,
                "period_begin": opens,
                "period_end": closes if day < 6 else weekend_closes,
            }
            for day in range(1, 8)
        ],
    }


def _ac_connector(rng: random.Random, stamp: datetime, us: bool) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.1:
        kind, phase, volts, amps = "IEC_62196_T2", "AC_1_PHASE", 230, 32  # 7.4 kW
    elif roll < 0.55:
        kind, phase, volts, amps = "IEC_62196_T2", "AC_3_PHASE", 400, 16  # 11 kW
    else:
        kind, phase, volts, amps = "IEC_62196_T2", "AC_3_PHASE", 400, 32  # 22 kW
    if us:
        kind, phase, volts = "IEC_62196_T1", "AC_1_PHASE", 240
    phases = 3 if phase == "AC_3_PHASE" else 1
    watts = int(round(volts * amps * phases / (math.sqrt(3) if phases == 3 else 1), -2))
    return {
        "standard": kind,
        "format": "SOCKET" if rng.random() < 0.9 else "CABLE",
        "power_type": phase,
        "max_voltage": volts,
        "max_amperage": amps,
        "max_electric_power": watts,
        "tariff_ids": [rng.choice(AC_TARIFF_IDS)],
        "last_updated": stamp,
    }


def _dc_connectors(
    rng: random.Random, stamp: datetime, hub: bool, us: bool
) -> list[dict[str, Any]]:
    kw = rng.choice((150, 175, 300, 350) if hub else (50, 50, 75, 100, 150))
    volts = 920 if kw >= 150 else 500
    tariff = [rng.choice(DC_TARIFF_IDS)]
    connectors = [
        {
            "standard": "IEC_62196_T1_COMBO" if us else "IEC_62196_T2_COMBO",
            "format": "CABLE",
            "power_type": "DC",
            "max_voltage": volts,
            "max_amperage": int(kw * 1000 / volts) + 1,
            "max_electric_power": kw * 1000,
            "tariff_ids": tariff,
            "last_updated": stamp,
        }
    ]
    if kw <= 100 and rng.random() < 0.4:
        connectors.append(
            {
                "standard": "CHADEMO",
                "format": "CABLE",
                "power_type": "DC",
                "max_voltage": 500,
                "max_amperage": 125,
                "max_electric_power": 50000,
                "tariff_ids": tariff,
                "last_updated": stamp,
            }
        )
    if not hub and rng.random() < 0.3 and not us:  # a 43 kW AC cable: Europe only
        connectors.append(
            {
                "standard": "IEC_62196_T2",
                "format": "CABLE",
                "power_type": "AC_3_PHASE",
                "max_voltage": 400,
                "max_amperage": 63,
                "max_electric_power": 43000,
                "tariff_ids": [rng.choice(AC_TARIFF_IDS)],
                "last_updated": stamp,
            }
        )
    return connectors


def _status(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.72:
        return "AVAILABLE"
    if roll < 0.92:
        return "CHARGING"
    if roll < 0.97:
        return "OUTOFORDER"
    return "INOPERATIVE"


def location_generate(
    rng: random.Random,
    *,
    index: int,
    city: City,
    country_code: str,
    party_id: str,
    spread_km: float = 4.0,
    now: datetime,
) -> dict[str, Any]:
    """One Location (with EVSEs and connectors) near `city`; `index` makes its ids. Its EVSE
    statuses, and so the Location, are dated `now` (a map must not look a year stale); its
    connectors some time in the year before."""
    # Distance from the centre: `spread_km` on average, mostly within 5 km for the default, a
    # tail out to 25 km (suburbs, ring roads).
    radius_km = min(spread_km * 6.25, rng.expovariate(1 / spread_km))
    bearing = rng.uniform(0, 2 * math.pi)
    lat = city.lat + (radius_km / 111.32) * math.cos(bearing)
    lon = city.lon + (radius_km / (111.32 * math.cos(math.radians(city.lat)))) * math.sin(bearing)
    us = city.country == "USA"
    fast = rng.random() < 0.33
    hub = fast and rng.random() < 0.4
    suffix, parking_type, facilities, has_hours = rng.choice(_HUB_KINDS if hub else _SITE_KINDS)
    operator_name, website = rng.choice(OPERATORS)
    street = rng.choice(city.streets)
    location_id = f"LOC{index:07d}"
    stamp = now - timedelta(seconds=rng.randrange(int(HARDWARE_AGE.total_seconds())))
    # About 2.5 EVSEs a site, as in public registers (a sample of the US DOE AFDC station data:
    # mean 2.7, median 2): mostly twin-socket AC posts, fast sites of one to four, hubs of four
    # to eight.
    if hub:
        evse_count = rng.randint(4, 8)
    elif fast:
        evse_count = rng.choice((1, 2, 2, 2, 4))
    else:
        evse_count = rng.choice((1, 1, 2, 2, 2, 2, 2, 4))
    evses = []
    for number in range(1, evse_count + 1):
        connectors = (
            _dc_connectors(rng, stamp, hub, us) if fast else [_ac_connector(rng, stamp, us)]
        )
        for connector_number, connector in enumerate(connectors, start=1):
            connector["id"] = str(connector_number)
        capabilities = ["REMOTE_START_STOP_CAPABLE", "RFID_READER"]
        if not fast and rng.random() < 0.3:
            capabilities.append("RESERVABLE")
        if fast and rng.random() < 0.5:
            capabilities += ["CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE"]
        if rng.random() < 0.5:
            capabilities.append("UNLOCK_CAPABLE")
        evses.append(
            {
                "uid": f"{location_id}-{number}",
                "evse_id": f"{country_code}*{party_id}*E{index:07d}*{number}",
                "status": _status(rng),
                "capabilities": capabilities,
                "connectors": connectors,
                "physical_reference": f"{number:02d}",
                "parking_restrictions": ["EV_ONLY"],
                "last_updated": now,
            }
        )
    return {
        "country_code": country_code,
        "party_id": party_id,
        "id": location_id,
        "publish": True,
        "name": f"{operator_name} {city.name} {street} {suffix}",
        "address": f"{street} {rng.randint(1, 240)}",
        "city": city.name,
        "postal_code": city.postal_code,
        "country": city.country,
        "coordinates": {"latitude": _coordinate(lat), "longitude": _coordinate(lon)},
        "parking_type": parking_type,
        "evses": evses,
        "operator": {"name": operator_name, "website": website},
        "facilities": list(facilities),
        "time_zone": city.time_zone,
        "opening_times": _opening_times(rng, has_hours),
        "charging_when_closed": False,
        "last_updated": now,
    }


def locations_generate(
    *,
    count: int,
    seed: int,
    country_code: str,
    party_id: str,
    cities: tuple[City, ...] = CITIES,
    spread_km: float = 4.0,
    weighted: bool = True,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """`count` Locations for `seed`, spread over `cities`: a bigger share to earlier ones (the
    largest come first), or evenly when not `weighted` (places that are real sites already).
    Dated relative to `now` (default: this moment), so the same seed and `now` give the same
    payloads."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)  # noqa: S311 - deterministic test data
    # Zipf-like weights: the first cities of the list (the largest) get more stations.
    weights = [1 / (rank + 1) ** 0.6 for rank in range(len(cities))] if weighted else None
    picks = rng.choices(cities, weights=weights, k=count)
    for index, city in enumerate(picks, start=1):
        yield location_generate(
            rng,
            index=index,
            city=city,
            country_code=country_code,
            party_id=party_id,
            spread_km=spread_km,
            now=now,
        )


def site_locations(
    sites: Sequence[tuple[str, City]],
    *,
    seed: int,
    country_code: str,
    party_ids: Sequence[str],
    now: datetime,
) -> Iterator[dict[str, Any]]:
    """One Location at each of these real (name, place) sites, at its very coordinates and
    under its registered name; the sites are dealt over `party_ids` in turn, as a hub or an
    open feed carries many operators. Deterministic for a seed and `now`."""
    rng = random.Random(seed)  # noqa: S311 - deterministic test data
    for index, (name, site) in enumerate(sites, start=1):
        location = location_generate(
            rng,
            index=index,
            city=site,
            country_code=country_code,
            party_id=party_ids[(index - 1) % len(party_ids)],
            now=now,
        )
        location["name"] = name
        location["coordinates"] = {
            "latitude": _coordinate(site.lat),
            "longitude": _coordinate(site.lon),
        }
        yield location
