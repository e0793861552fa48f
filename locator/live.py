"""Live status as a driver should read it: each EVSE's status with how old the report is, and a
report older than LOCATOR_STATUS_MAX_AGE_MINUTES shown as unknown rather than as fact.

The age is that of the operator's last report (the EVSE's `last_updated`), not of the last
change: an EVSE free for a day whose feed re-confirmed it a minute ago is fresh. Read by the
station page, its polling endpoint, the station list and favourites.
"""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language, ngettext, npgettext
from django.utils.translation import gettext as _

from locator.catalogue import STATUS_LABELS
from locator.models import Evse, Location

UNKNOWN = "UNKNOWN"


def status_max_age() -> timedelta:
    return timedelta(minutes=settings.LOCATOR_STATUS_MAX_AGE_MINUTES)


def status_stale(reported_at: datetime | None, now: datetime) -> bool:
    """Whether a status reported at `reported_at` is too old to show as fact."""
    return reported_at is None or now - reported_at > status_max_age()


def _age_unit(seconds: float) -> tuple[str, int]:
    """The unit and count age_words says for an age: ("now", 0), ("min", 5), ("h", 3)..."""
    if seconds < 90:
        return "now", 0
    if seconds < 5400:
        return "min", round(seconds / 60)
    if seconds < 172800:
        return "h", round(seconds / 3600)
    return "days", round(seconds / 86400)


def age_words(seconds: float) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago': short enough for a pin's list row."""
    return _age_words(*_age_unit(seconds))


def _age_words(unit: str, count: int) -> str:
    if unit == "now":
        return _("just now")
    if unit == "min":
        return _("%(count)s min ago") % {"count": count}
    if unit == "h":
        return _("%(count)s h ago") % {"count": count}
    return ngettext("%(count)s day ago", "%(count)s days ago", count) % {"count": count}


def span_words(seconds: float) -> str:
    """How long something has lasted, at least 90 s: '5 min', '3 h', '2 days' (as in
    'available for 2 days'), rounded as age_words rounds."""
    if seconds < 5400:
        return _("%(count)s min") % {"count": round(seconds / 60)}
    if seconds < 172800:
        return _("%(count)s h") % {"count": round(seconds / 3600)}
    days = round(seconds / 86400)
    # Translators: how long a status has lasted, as in "available for 2 days".
    return npgettext("lasting", "%(count)s day", "%(count)s days", days) % {"count": days}


class StationStatusTexts:
    """A station's status line in lists, for the many stations of a list at one moment in the
    active language: '2 of 4 free · reported 3 min ago', 'Out of order · ...' when every
    charge point is, or unknown. `stale` is status_stale without reading the setting again."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.max_age = status_max_age()
        self.language = get_language()

    def stale(self, reported_at: datetime | None) -> bool:
        return reported_at is None or self.now - reported_at > self.max_age

    def text(
        self, *, available: int, evses: int, out_of_order: int, reported_at: datetime | None
    ) -> str:
        report = None
        if reported_at is not None:
            age = max(0.0, (self.now - reported_at).total_seconds())
            report = (self.stale(reported_at), *_age_unit(age))
        return _status_line(self.language, available, evses, out_of_order, report)


@functools.lru_cache(maxsize=8192)
def _status_line(
    language: str | None,
    available: int,
    evses: int,
    out_of_order: int,
    report: tuple[bool, str, int] | None,
) -> str:
    """StationStatusTexts' line, from what it depends on: the counts and the report (stale or
    not, and its age as age_words words it), in `language`, the active one. Each distinct line
    is worded once per process: translating costs more than the rest of a list entry."""
    if report is None:
        return _("Status unknown")
    stale, unit, count = report
    ago = _age_words(unit, count)
    if stale:
        return _("Status unknown (last report %(age)s)") % {"age": ago}
    if evses and out_of_order == evses:
        return _("Out of order · reported %(age)s") % {"age": ago}
    return ngettext(
        "%(available)s of %(evses)s free · reported %(age)s",
        "%(available)s of %(evses)s free · reported %(age)s",
        available,
    ) % {
        "available": available,
        "evses": evses,
        "age": ago,
    }


@dataclass(frozen=True, slots=True)
class EvseLive:
    """One EVSE's status as shown: `status` is UNKNOWN when the report is too old."""

    id: int
    status: str
    label: str
    age: str  # "reported 3 min ago", or "last report 2 days ago (said Available)"
    stale: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "label": self.label,
            "age": self.age,
            "stale": self.stale,
        }


def evse_live(evse: Evse, now: datetime) -> EvseLive:
    said = str(STATUS_LABELS.get(evse.status, evse.status.capitalize()))
    seconds = max(0.0, (now - evse.last_updated).total_seconds())
    if status_stale(evse.last_updated, now):
        return EvseLive(
            evse.id,
            UNKNOWN,
            _("Status unknown"),
            _("last report %(age)s (said %(status)s)")
            % {"age": age_words(seconds), "status": said},
            True,
        )
    age = _("reported %(age)s") % {"age": age_words(seconds)}
    since = (now - evse.status_changed_at).total_seconds()
    if since - seconds > 90:
        # Translators: e.g. "available for 3 h · reported 5 min ago".
        age = _("%(status)s for %(time)s · %(reported)s") % {
            "status": said.lower(),
            "time": span_words(since),
            "reported": age,
        }
    return EvseLive(evse.id, evse.status, said, age, False)


def station_live(*, station_id: int, stations: QuerySet[Location]) -> dict[str, Any] | None:
    """The EVSE statuses as shown of one of `stations` (those the viewer may see, from
    locator.audience), for pages that refresh themselves: `{"available": n, "evses": m,
    "items": [EvseLive...]}`, or None when there is no such station. Only fresh AVAILABLE
    reports count as available."""
    location = stations.filter(id=station_id).only("id").first()
    if location is None:
        return None
    now = timezone.now()
    items = [
        evse_live(evse, now)
        for evse in location.evses.exclude(status="REMOVED")
        .only("id", "status", "status_changed_at", "last_updated")
        .order_by("uid")
    ]
    return {
        "available": sum(item.status == "AVAILABLE" for item in items),
        "evses": len(items),
        "items": [item.as_json() for item in items],
    }
