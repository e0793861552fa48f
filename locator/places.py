"""Place search over our own catalogue: station names, addresses, postcodes and cities.

What the map's search box answers when no geocoder is configured (and what it falls back on
when one fails). Each station carries a `search_key`, written by the catalogue with every
write: its words folded (lower case, accents and spacing dropped, "ß" as "ss"), its postcode
also without spaces, and the other-language names of its city ("Munich" for "München"). A
typed word matches the start of a word in the key, so "1012AB" = "1012 ab", "munchen" finds
München, and "damrak amsterdam" finds Damrak in Amsterdam; plain LIKE, so SQLite and
PostgreSQL answer alike.

Matches are grouped into places a driver would pick from: a city, a postcode, a street in a
city, or one station; several of one kind (Keizersgracht in four cities) are a choice,
nearest to the map's view first.
"""

import math
import re
import unicodedata
from collections.abc import Mapping, Set
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import Avg, Count, Max, Min, QuerySet
from django.utils.translation import ngettext

from locator.models import Location

# Letters NFKD does not take apart.
_FOLDS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_HOUSE_NUMBER = re.compile(r"^\s*\d+\w?\s*[,-]?\s*|\s*[,-]?\s*\d+\s*[\w/-]*\s*$")
# Cities drivers call by another name than their stations' operators write (local names and
# the English ones), both ways.
CITY_NAMES = (
    ("münchen", "munich", "muenchen"),
    ("köln", "cologne", "koeln"),
    ("nürnberg", "nuremberg", "nuernberg"),
    ("frankfurt am main", "frankfurt"),
    ("den haag", "the hague", "s gravenhage"),
    ("bruxelles", "brussel", "brussels"),
    ("antwerpen", "antwerp", "anvers"),
    ("gent", "ghent", "gand"),
    ("brugge", "bruges"),
    ("liège", "luik", "lüttich", "liege"),
    ("wien", "vienna"),
    ("zürich", "zurich", "zuerich"),
    ("genève", "geneva", "genf"),
    ("praha", "prague", "prag"),
    ("warszawa", "warsaw", "warschau"),
    ("kraków", "krakow", "cracow"),
    ("lisboa", "lisbon", "lissabon"),
    ("milano", "milan", "mailand"),
    ("roma", "rome", "rom"),
    ("torino", "turin"),
    ("napoli", "naples", "neapel"),
    ("firenze", "florence", "florenz"),
    ("venezia", "venice", "venedig"),
    ("københavn", "copenhagen", "kopenhagen"),
    ("göteborg", "gothenburg"),
    ("sevilla", "seville"),
    ("athina", "athens", "athen"),
)
KIND_ORDER = {"city": 0, "postcode": 1, "street": 2, "station": 3}
ROWS_GROUPED = 400


def fold(text: str) -> str:
    """Lower case ASCII words: 'München Hbf.' -> 'munchen hbf'."""
    plain = text.casefold().translate(_FOLDS)
    if not plain.isascii():  # ASCII has nothing to decompose (a pull folds 3 texts a station)
        decomposed = unicodedata.normalize("NFKD", plain)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.split(plain)).strip()


CITY_ALIASES: dict[str, tuple[str, ...]] = {
    fold(name): tuple(fold(other) for other in names if other != name)
    for names in CITY_NAMES
    for name in names
}


def canonical_city(city: str) -> str:
    """One name per city, whatever language it is written in."""
    folded = fold(city)
    return min((folded, *CITY_ALIASES.get(folded, ())))


@lru_cache(maxsize=4096)
def city_words(city: str) -> frozenset[str]:
    """The words of a city's name and of its other names (a search asks once per station)."""
    folded = fold(city)
    return frozenset(
        word for name in (folded, *CITY_ALIASES.get(folded, ())) for word in name.split()
    )


def search_key(*, name: str, address: str, postal_code: str, city: str) -> str:
    """A station's words as the search box matches them (see the module docstring)."""
    postcode = fold(postal_code)
    words = [
        fold(name),
        fold(address),
        postcode,
        postcode.replace(" ", ""),
        " ".join(sorted(city_words(city))),
    ]
    unique = dict.fromkeys(word for part in words for word in part.split())
    return " " + " ".join(unique)[:1000] + " "


def street_of(address: str) -> str:
    """'Damrak 1' -> 'Damrak', '12 rue de la Paix' -> 'rue de la Paix'."""
    return _HOUSE_NUMBER.sub("", address).strip() or address


@dataclass(slots=True)
class Place:
    """A place to show on the map: its centre, its stations' box, and how to name it."""

    kind: str  # city, postcode, street or station
    label: str
    lat: float
    lon: float
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    stations: int
    country: str = ""
    detail: str = ""  # what else tells it apart: a station's address, a count of stations
    source: str = "catalogue"  # or "geocoder"

    def distance_km(self, near: tuple[float, float] | None) -> float:
        if near is None:
            return 0.0
        lat1, lon1, lat2, lon2 = map(math.radians, (near[0], near[1], self.lat, self.lon))
        a = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 12742.0 * math.asin(math.sqrt(min(1.0, a)))


def _matching(words: list[str]) -> QuerySet[Location]:
    rows = Location.objects.filter(visible=True)
    for word in words:
        rows = rows.filter(search_key__contains=" " + word)
    return rows


def _explained(words: list[str], vocabulary: Set[str]) -> bool:
    return all(any(v.startswith(w) for v in vocabulary) for w in words)


def _city_places(words: list[str]) -> list[Place]:
    """Cities whose names (or other names) hold every typed word, with all their stations."""
    groups = (
        _matching(words)
        .values("city", "country")
        .annotate(
            n=Count("id"),
            mid_lat=Avg("lat"),
            mid_lon=Avg("lon"),
            south=Min("lat"),
            north=Max("lat"),
            west=Min("lon"),
            east=Max("lon"),
        )
        .order_by("-n")[:50]
    )
    # One city however its stations spell it ("München" and "Munich" are one place).
    cities: dict[tuple[str, str], Place] = {}
    for g in groups:
        if not _explained(words, city_words(g["city"])):
            continue
        same = cities.get((canonical_city(g["city"]), g["country"]))
        n = g["n"] + (same.stations if same else 0)
        box = (g["west"], g["south"], g["east"], g["north"])
        if same is not None:
            box = (
                min(box[0], same.bbox[0]),
                min(box[1], same.bbox[1]),
                max(box[2], same.bbox[2]),
                max(box[3], same.bbox[3]),
            )
        cities[(canonical_city(g["city"]), g["country"])] = Place(
            "city",
            same.label if same else g["city"],  # groups come biggest first
            (g["mid_lat"] * g["n"] + (same.lat * same.stations if same else 0)) / n,
            (g["mid_lon"] * g["n"] + (same.lon * same.stations if same else 0)) / n,
            box,
            n,
            g["country"],
            stations_words(n),
        )
    return list(cities.values())


def stations_words(count: int) -> str:
    """'1 station', '12 stations': what a place without an address says about itself."""
    return ngettext("%(count)s station", "%(count)s stations", count) % {"count": count}


def _row_place(
    row: Mapping[str, Any], words: list[str]
) -> tuple[tuple[str, ...], str, str, str] | None:
    """(group key, kind, label, detail) of one matching station: its postcode, its street or itself,
    whichever the typed words not naming its city describe; None when they name its city."""
    rest = [w for w in words if not _explained([w], city_words(row["city"]))]
    if not rest:
        return None
    city = row["city"]
    postcode = fold(row["postal_code"])
    if postcode and _explained(rest, {*postcode.split(), postcode.replace(" ", "")}):
        return ("postcode", postcode, fold(city)), "postcode", f"{row['postal_code']} {city}", ""
    street = street_of(row["address"])
    if _explained(rest, set(fold(street).split())):
        return ("street", fold(street), fold(city)), "street", f"{street}, {city}", ""
    label = f"{row['name'] or row['address']}, {city}"
    return ("station", str(row["id"])), "station", label, row["address"]


def _row_places(words: list[str]) -> list[Place]:
    rows = _matching(words).values(
        "id", "name", "address", "postal_code", "city", "country", "lat", "lon"
    )[:ROWS_GROUPED]
    grouped: dict[tuple[str, ...], tuple[str, str, str, str, list[tuple[float, float]]]] = {}
    for row in rows:
        found = _row_place(row, words)
        if found is None:
            continue
        key, kind, label, detail = found
        points = grouped.setdefault(key, (kind, label, row["country"], detail, []))[4]
        points.append((row["lat"], row["lon"]))
    places = []
    for kind, label, country, detail, points in grouped.values():
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        places.append(
            Place(
                kind,
                label,
                sum(lats) / len(lats),
                sum(lons) / len(lons),
                (min(lons), min(lats), max(lons), max(lats)),
                len(points),
                country,
                detail or stations_words(len(points)),
            )
        )
    return places


def places_search(
    *, query: str, near: tuple[float, float] | None = None, limit: int = 8
) -> list[Place]:
    """Places matching `query`, best first: cities, then postcodes, streets and stations;
    within a kind the nearest to `near` (the map's centre) first, else the biggest."""
    words = fold(query).split()[:8]
    if not words:
        return []
    places = _city_places(words) + _row_places(words)
    places.sort(key=lambda p: (KIND_ORDER[p.kind], round(p.distance_km(near)), -p.stations))
    return places[:limit]


def words_unknown(query: str) -> list[str]:
    """The typed words no station's key holds (what to leave out to find something)."""
    return [word for word in fold(query).split()[:8] if not _matching([word]).exists()]
