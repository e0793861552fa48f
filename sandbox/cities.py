"""The places the sandbox spreads its stations around: built-in European city centres, or the
real US station sites of an AFDC export (the search benchmark's)."""

from __future__ import annotations

import csv
import gzip
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class City:
    name: str
    country: str  # ISO 3166-1 alpha-3, as OCPI's Location.country wants
    time_zone: str
    lat: float
    lon: float
    postal_code: str  # a typical postal code format for the city centre
    streets: tuple[str, ...]


_NL = ("Keizersgracht", "Stationsplein", "Marktstraat", "Kerkstraat", "Parkweg", "Havenkade")
_DE = ("Hauptstraße", "Bahnhofstraße", "Marktplatz", "Gartenstraße", "Schillerstraße", "Ringstraße")
_FR = ("Rue de la Paix", "Avenue Victor Hugo", "Boulevard Voltaire", "Rue du Marché", "Quai Nord")
_BE = ("Rue Neuve", "Stationsstraat", "Grote Markt", "Avenue Louise", "Kerkstraat", "Rue Royale")
_ES = ("Calle Mayor", "Gran Vía", "Avenida de la Constitución", "Calle del Carmen", "Paseo Real")
_IT = ("Via Roma", "Corso Italia", "Via Garibaldi", "Piazza del Duomo", "Via Mazzini")
_AT = ("Hauptplatz", "Bahnhofstraße", "Ringstraße", "Kirchengasse", "Mariahilfer Straße")
_CH = ("Bahnhofstrasse", "Marktgasse", "Seestrasse", "Rue du Rhône", "Hauptstrasse")
_UK = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Market Square")
_SE = ("Drottninggatan", "Storgatan", "Kungsgatan", "Hamngatan", "Sveavägen")
_DK = ("Strøget", "Vesterbrogade", "Nørregade", "Havnegade", "Torvet")
_NO = ("Karl Johans gate", "Storgata", "Kirkegata", "Bryggen", "Torggata")
_PL = ("ulica Marszałkowska", "ulica Długa", "Rynek Główny", "ulica Polna", "aleja Wolności")
_CZ = ("Václavské náměstí", "Národní", "Nádražní", "Masarykova", "Palackého")
_PT = ("Rua Augusta", "Avenida da Liberdade", "Rua do Comércio", "Praça do Rossio")
_US = ("Main Street", "Broadway", "Park Avenue", "Oak Street", "Market Street", "Highway 1")
_IE = ("O'Connell Street", "Grafton Street", "Main Street", "Quay Road")

CITIES: tuple[City, ...] = (
    City("Amsterdam", "NLD", "Europe/Amsterdam", 52.3728, 4.8936, "1012 AB", _NL),
    City("Rotterdam", "NLD", "Europe/Amsterdam", 51.9225, 4.4792, "3011 AD", _NL),
    City("Utrecht", "NLD", "Europe/Amsterdam", 52.0907, 5.1214, "3511 LX", _NL),
    City("Den Haag", "NLD", "Europe/Amsterdam", 52.0799, 4.3113, "2511 CV", _NL),
    City("Eindhoven", "NLD", "Europe/Amsterdam", 51.4416, 5.4697, "5611 EM", _NL),
    City("Brussels", "BEL", "Europe/Brussels", 50.8467, 4.3525, "1000", _BE),
    City("Antwerp", "BEL", "Europe/Brussels", 51.2194, 4.4025, "2000", _BE),
    City("Gent", "BEL", "Europe/Brussels", 51.0543, 3.7174, "9000", _BE),
    City("Berlin", "DEU", "Europe/Berlin", 52.5200, 13.4050, "10117", _DE),
    City("Hamburg", "DEU", "Europe/Berlin", 53.5511, 9.9937, "20095", _DE),
    City("Munich", "DEU", "Europe/Berlin", 48.1374, 11.5755, "80331", _DE),
    City("Cologne", "DEU", "Europe/Berlin", 50.9375, 6.9603, "50667", _DE),
    City("Frankfurt am Main", "DEU", "Europe/Berlin", 50.1109, 8.6821, "60311", _DE),
    City("Stuttgart", "DEU", "Europe/Berlin", 48.7758, 9.1829, "70173", _DE),
    City("Paris", "FRA", "Europe/Paris", 48.8566, 2.3522, "75001", _FR),
    City("Lyon", "FRA", "Europe/Paris", 45.7640, 4.8357, "69002", _FR),
    City("Marseille", "FRA", "Europe/Paris", 43.2965, 5.3698, "13001", _FR),
    City("Lille", "FRA", "Europe/Paris", 50.6292, 3.0573, "59000", _FR),
    City("Madrid", "ESP", "Europe/Madrid", 40.4168, -3.7038, "28013", _ES),
    City("Barcelona", "ESP", "Europe/Madrid", 41.3874, 2.1686, "08002", _ES),
    City("Valencia", "ESP", "Europe/Madrid", 39.4699, -0.3763, "46002", _ES),
    City("Lisbon", "PRT", "Europe/Lisbon", 38.7223, -9.1393, "1100-148", _PT),
    City("Porto", "PRT", "Europe/Lisbon", 41.1579, -8.6291, "4000-069", _PT),
    City("Milan", "ITA", "Europe/Rome", 45.4642, 9.1900, "20121", _IT),
    City("Rome", "ITA", "Europe/Rome", 41.9028, 12.4964, "00186", _IT),
    City("Turin", "ITA", "Europe/Rome", 45.0703, 7.6869, "10121", _IT),
    City("Vienna", "AUT", "Europe/Vienna", 48.2082, 16.3738, "1010", _AT),
    City("Graz", "AUT", "Europe/Vienna", 47.0707, 15.4395, "8010", _AT),
    City("Zurich", "CHE", "Europe/Zurich", 47.3769, 8.5417, "8001", _CH),
    City("Geneva", "CHE", "Europe/Zurich", 46.2044, 6.1432, "1204", _CH),
    City("London", "GBR", "Europe/London", 51.5072, -0.1276, "WC2N 5DU", _UK),
    City("Manchester", "GBR", "Europe/London", 53.4808, -2.2426, "M2 5DB", _UK),
    City("Edinburgh", "GBR", "Europe/London", 55.9533, -3.1883, "EH1 1YZ", _UK),
    City("Dublin", "IRL", "Europe/Dublin", 53.3498, -6.2603, "D01 F5P2", _IE),
    City("Copenhagen", "DNK", "Europe/Copenhagen", 55.6761, 12.5683, "1550", _DK),
    City("Stockholm", "SWE", "Europe/Stockholm", 59.3293, 18.0686, "111 52", _SE),
    City("Gothenburg", "SWE", "Europe/Stockholm", 57.7089, 11.9746, "411 06", _SE),
    City("Oslo", "NOR", "Europe/Oslo", 59.9139, 10.7522, "0154", _NO),
    City("Warsaw", "POL", "Europe/Warsaw", 52.2297, 21.0122, "00-001", _PL),
    City("Krakow", "POL", "Europe/Warsaw", 50.0647, 19.9450, "31-001", _PL),
    City("Prague", "CZE", "Europe/Prague", 50.0755, 14.4378, "110 00", _CZ),
)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def cities_near(lat: float, lon: float, count: int = 3) -> tuple[City, ...]:
    """The `count` built-in cities nearest to a point (what `--region "lat,lon"` narrows to)."""
    return tuple(sorted(CITIES, key=lambda c: distance_km(lat, lon, c.lat, c.lon))[:count])


US_ZONES = ((-87.5, "America/New_York"), (-101.0, "America/Chicago"), (-115.0, "America/Denver"))


def afdc_sites(path: Path) -> tuple[tuple[str, City], ...]:
    """Real US station sites of an AFDC export (shared/data), each with its registered name."""
    sites: list[tuple[str, City]] = []
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
            city = City(f"ZIP {zip_code}", "USA", zone, lat, lon, zip_code, _US)
            sites.append((row.get("Station Name") or city.name, city))
    return tuple(sites)


def afdc_cities(path: Path) -> tuple[City, ...]:
    """Real US station sites (shared/data AFDC export), each a place to put stations around."""
    return tuple(city for _, city in afdc_sites(path))
