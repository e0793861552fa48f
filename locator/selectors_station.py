"""Reads of one station: its page (EVSEs, connectors, tariffs, hours, rating) and whether a
charge can start on an EVSE. Searches are in `locator.selectors`."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Prefetch
from django.utils import timezone

from locator import hours, pricing
from locator.models import Comment, Connector, Evse, Location, Tariff
from locator.selectors import shown


@dataclass(slots=True)
class StationDetail:
    location: Location
    evses: list[Evse]
    tariffs: dict[str, Tariff]
    is_open: bool
    hours: list[str]
    rating: float | None
    rating_count: int
    comment_count: int
    price: str = ""
    tariff_notes: list[str] = field(default_factory=list)


def location_tariffs(*, location: Location, ocpi_ids: Iterable[str]) -> dict[str, Tariff]:
    """The tariffs these ids name for this location (its operator's, from the same source),
    by id; ids we do not hold are left out."""
    return {
        tariff.ocpi_id: tariff
        for tariff in Tariff.objects.filter(
            source=location.source,
            country_code=location.country_code,
            party_id=location.party_id,
            ocpi_id__in=[ocpi_id for ocpi_id in ocpi_ids if ocpi_id],
        )
    }


def station_detail(
    *, station_id: int, restricted_ids: frozenset[int] = frozenset()
) -> StationDetail | None:
    """A station the viewer may see (visible, or one of `restricted_ids`) with its EVSEs and
    connectors (REMOVED ones left out), the tariffs its connectors name, whether it is open
    now, and its comments' average rating."""
    location = Location.objects.filter(shown(restricted_ids), id=station_id).first()
    if location is None:
        return None
    evses = list(
        location.evses.exclude(status="REMOVED")
        .prefetch_related(Prefetch("connectors", queryset=Connector.objects.order_by("ocpi_id")))
        .order_by("uid")
    )
    tariff_ids = {t for evse in evses for c in evse.connectors.all() for t in (c.tariff_ids or [])}
    tariffs = location_tariffs(location=location, ocpi_ids=tariff_ids)
    stats = Comment.objects.filter(location=location, hidden=False).aggregate(
        avg=Avg("rating"), rated=Count("rating"), total=Count("id")
    )
    return StationDetail(
        location=location,
        evses=evses,
        tariffs=tariffs,
        is_open=hours.is_open(location.opening_times, location.time_zone, timezone.now()),
        hours=hours.describe(location.opening_times),
        rating=round(stats["avg"], 1) if stats["avg"] is not None else None,
        rating_count=stats["rated"],
        comment_count=stats["total"],
        price=pricing.headline([pricing.TariffWords.of(t) for t in tariffs.values()]),
    )


# EVSE statuses (OCPI) in which no charge can start: in use, broken, or not there (UNKNOWN is
# not known to be any of these, so a start is tried).
EVSE_UNAVAILABLE = frozenset(
    {"BLOCKED", "CHARGING", "RESERVED", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED"}
)


def evse_remote_startable(*, location: Location, evse: Evse) -> bool:
    """Whether the app may start this EVSE at all: its network takes our commands and the EVSE
    says it can be started remotely."""
    return location.remote_start and "REMOTE_START_STOP_CAPABLE" in (evse.capabilities or [])


def evse_can_start(*, location: Location, evse: Evse) -> bool:
    """Whether a Start button belongs on this EVSE now (remote start, not known busy or broken)."""
    return evse_remote_startable(location=location, evse=evse) and evse.status not in (
        EVSE_UNAVAILABLE
    )
