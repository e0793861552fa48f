"""Turn a place a driver typed into a point (and a box) to show on the map.

The configured geocoder (any Nominatim-compatible URL, via geopy) is asked first; when it is
not configured, unreachable, or finds nothing, our own catalogue answers from station cities,
postal codes, names and addresses, and the answer says so. Answers are cached.
"""

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Max, Min, Q
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

from locator.models import Location


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float
    label: str
    source: str  # "geocoder" or "catalogue"
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat


@dataclass(frozen=True, slots=True)
class GeocodeAnswer:
    place: Place | None
    message: str = ""


def _geocoder() -> Nominatim | None:
    url = settings.LOCATOR_GEOCODER_URL
    if not url:
        return None
    parts = urlsplit(url)
    # geopy builds "{scheme}://{domain}/search"; a path prefix rides along in the domain.
    domain = (parts.netloc + parts.path).rstrip("/")
    return Nominatim(
        domain=domain,
        scheme=parts.scheme or "https",
        user_agent=settings.LOCATOR_GEOCODER_USER_AGENT,
        timeout=settings.LOCATOR_GEOCODER_TIMEOUT,
    )


def _ask_geocoder(query: str) -> tuple[Place | None, str]:
    geocoder = _geocoder()
    if geocoder is None:
        return None, "Place search uses our station list only here."
    try:
        found = geocoder.geocode(query, exactly_one=True)
    except GeopyError:
        return (
            None,
            "The place search service did not answer; showing matches from our station list.",
        )
    if found is None:
        return (
            None,
            "The place search service found nothing; showing matches from our station list.",
        )
    box = None
    raw = found.raw if isinstance(found.raw, dict) else {}
    try:
        south, north, west, east = (float(v) for v in raw["boundingbox"])
        box = (west, south, east, north)
    except (KeyError, TypeError, ValueError):
        box = None
    return Place(found.latitude, found.longitude, found.address, "geocoder", box), ""


def _ask_catalogue(query: str) -> Place | None:
    visible = Location.objects.filter(visible=True)
    for condition in (
        Q(city__iexact=query),
        Q(postal_code__iexact=query),
        Q(city__istartswith=query),
    ):
        stats = visible.filter(condition).aggregate(
            n=Count("id"),
            lat=Avg("lat"),
            lon=Avg("lon"),
            s=Min("lat"),
            n_=Max("lat"),
            w=Min("lon"),
            e=Max("lon"),
        )
        if stats["n"]:
            label = visible.filter(condition).values_list("city", flat=True).first() or query
            return Place(
                stats["lat"],
                stats["lon"],
                label,
                "catalogue",
                (stats["w"], stats["s"], stats["e"], stats["n_"]),
            )
    station = (
        visible.filter(Q(name__icontains=query) | Q(address__icontains=query))
        .values("lat", "lon", "name", "address", "city")
        .first()
    )
    if station:
        label = f"{station['name'] or station['address']}, {station['city']}"
        return Place(station["lat"], station["lon"], label, "catalogue")
    return None


def place_find(*, query: str) -> GeocodeAnswer:
    """Resolve `query` to a place, geocoder first, our catalogue as the fallback."""
    query = " ".join(query.split())[:200]
    if not query:
        return GeocodeAnswer(None, "Type a place, an address or a station name.")
    key = "locator:geocode:" + hashlib.sha256(query.lower().encode()).hexdigest()
    cached = cache.get(key)
    if isinstance(cached, GeocodeAnswer):
        return cached
    place, note = _ask_geocoder(query)
    if place is None:
        place = _ask_catalogue(query)
        if place is None:
            return GeocodeAnswer(None, f"Nothing found for “{query}”. Try a city or a postal code.")
    answer = GeocodeAnswer(place, note)
    if not note or note.startswith("Place search uses"):
        cache.set(key, answer, settings.LOCATOR_GEOCODER_CACHE_SECONDS)
    return answer
