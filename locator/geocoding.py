"""Turn a place a driver typed into a point (and a box) to show on the map, or a short choice.

With a geocoder configured (Nominatim or Photon, by URL, through geopy) it is asked first and
its answers are cached; when it is not configured, unreachable, or finds nothing, our own
catalogue answers (locator.places): cities, postcodes, streets and station names. Several
places of one kind ("Keizersgracht" in four cities) are offered as a choice, nearest to the
map's view first, instead of jumping to one at random.
"""

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim, Photon

from locator import places
from locator.places import Place, fold

GEOCODER_CHOICES = 5
NOTHING_FROM_GEOCODER = gettext_lazy(
    "The place search service found nothing; showing matches from our stations."
)


@dataclass(frozen=True, slots=True)
class GeocodeAnswer:
    """Where to go (`place`), or, when it is None and `choices` is not empty, which to pick;
    with a place, `choices` are the other places the words may have meant."""

    place: Place | None
    choices: list[Place] = field(default_factory=list)
    message: str = ""


def _geocoder() -> Nominatim | Photon | None:
    url = settings.LOCATOR_GEOCODER_URL
    if not url:
        return None
    parts = urlsplit(url)
    # geopy builds "{scheme}://{domain}/search" (Photon: "/api"); a path prefix rides along
    # in the domain.
    domain = (parts.netloc + parts.path).rstrip("/")
    kind = Photon if settings.LOCATOR_GEOCODER_KIND == "photon" else Nominatim
    return kind(
        domain=domain,
        scheme=parts.scheme or "https",
        user_agent=settings.LOCATOR_GEOCODER_USER_AGENT,
        timeout=settings.LOCATOR_GEOCODER_TIMEOUT,
    )


def _box(raw: object) -> tuple[float, float, float, float] | None:
    """A result's box as (min_lon, min_lat, max_lon, max_lat), from Nominatim's
    `boundingbox` (south, north, west, east) or Photon's `extent` (west, north, east, south)."""
    if not isinstance(raw, dict):
        return None
    try:
        if "boundingbox" in raw:
            south, north, west, east = (float(v) for v in raw["boundingbox"])
        else:
            west, north, east, south = (float(v) for v in raw["properties"]["extent"])
    except (KeyError, TypeError, ValueError):
        return None
    return (west, south, east, north)


def _ask_geocoder(query: str) -> tuple[list[Place] | None, str]:
    """The geocoder's places, best first (None when it is not configured), and a note for
    the driver when it failed."""
    geocoder = _geocoder()
    if geocoder is None:
        return None, ""
    key = "locator:geocode:" + hashlib.sha256(fold(query).encode()).hexdigest()
    cached = cache.get(key)
    if isinstance(cached, list):
        return cached, "" if cached else str(NOTHING_FROM_GEOCODER)
    try:
        found = geocoder.geocode(query, exactly_one=False, limit=GEOCODER_CHOICES) or []
    except GeopyError:
        return [], _("The place search service did not answer; showing matches from our stations.")
    answer = []
    for result in found:
        box = _box(result.raw) or (result.longitude, result.latitude) * 2
        answer.append(
            Place(
                "place",
                result.address,
                result.latitude,
                result.longitude,
                box,
                0,
                source="geocoder",
            )
        )
    cache.set(key, answer, settings.LOCATOR_GEOCODER_CACHE_SECONDS)
    return answer, "" if answer else str(NOTHING_FROM_GEOCODER)


def _exact(place: Place, words: str) -> bool:
    """Whether the words are the place's whole name (or, for a city, one of its names)."""
    names = {fold(place.label), *places.CITY_ALIASES.get(fold(place.label), ())}
    return words in names or words.replace(" ", "") in {n.replace(" ", "") for n in names}


def _nothing_found(query: str) -> GeocodeAnswer:
    message = _("Nothing found for “%(query)s”. Try a city or a postal code.") % {"query": query}
    return GeocodeAnswer(None, message=message)


def _from_catalogue(query: str, near: tuple[float, float] | None) -> GeocodeAnswer:
    found = places.places_search(query=query, near=near)
    note = ""
    if not found:
        unknown = places.words_unknown(query)
        known = [word for word in fold(query).split() if word not in unknown]
        if not unknown or not known:
            return _nothing_found(query)
        found = places.places_search(query=" ".join(known), near=near)
        note = _("No station near “%(unknown)s”; showing “%(known)s”.") % {
            "unknown": " ".join(unknown),
            "known": " ".join(known),
        }
    if not found:
        return _nothing_found(query)
    best = [p for p in found if p.kind == found[0].kind]
    exact = [p for p in best if _exact(p, fold(query))]
    if len(exact) == 1 or len(best) == 1:
        chosen = exact[0] if len(exact) == 1 else best[0]
        return GeocodeAnswer(chosen, [p for p in found if p is not chosen], note)
    choose = ngettext(
        "%(count)s place matches “%(query)s”; choose it.",
        "%(count)s places match “%(query)s”; choose one.",
        len(best),
    ) % {"count": len(best), "query": query}
    return GeocodeAnswer(None, best, note or choose)


def place_find(*, query: str, near: tuple[float, float] | None = None) -> GeocodeAnswer:
    """Resolve `query` to a place or a choice, the geocoder first, our catalogue as the
    fallback (and the whole answer when no geocoder is configured)."""
    query = " ".join(query.split())[:200]
    if not query:
        return GeocodeAnswer(None, message=_("Type a place, an address or a station name."))
    found, note = _ask_geocoder(query)
    if found:
        return GeocodeAnswer(found[0], found[1:])
    answer = _from_catalogue(query, near)
    if note and answer.place is not None:
        return GeocodeAnswer(answer.place, answer.choices, note)
    return answer
