"""OCPI opening hours: is a station open at a moment, and how to say its hours in words.

`regular_hours` are local times in the station's time zone (weekday 1 = Monday, a period may
run past midnight); `exceptional_openings` / `exceptional_closings` are UTC periods that win
over the regular hours. No `opening_times` at all means the feed does not know: we treat the
station as open rather than hide it.
"""

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, pgettext_lazy

# Monday first, as OCPI counts (weekday 1); also the days of tariff restrictions.
WEEKDAYS = (
    pgettext_lazy("weekday", "Mon"),
    pgettext_lazy("weekday", "Tue"),
    pgettext_lazy("weekday", "Wed"),
    pgettext_lazy("weekday", "Thu"),
    pgettext_lazy("weekday", "Fri"),
    pgettext_lazy("weekday", "Sat"),
    pgettext_lazy("weekday", "Sun"),
)


def station_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hhmm(value: str) -> time:
    hours, _, minutes = value.partition(":")
    hour = int(hours)
    return time(23, 59, 59) if hour >= 24 else time(hour, int(minutes or 0))


def _in_periods(periods: list[dict[str, Any]], moment: datetime) -> bool:
    for period in periods:
        begin = parse_datetime(str(period.get("period_begin", "")))
        end = parse_datetime(str(period.get("period_end", "")))
        if begin and end and begin <= moment < end:
            return True
    return False


def is_open(opening_times: dict[str, Any] | None, time_zone: str, moment: datetime) -> bool:
    """Whether the station is open at `moment` (an aware datetime)."""
    if not opening_times or opening_times.get("twentyfourseven"):
        return True
    if _in_periods(opening_times.get("exceptional_closings") or [], moment):
        return False
    if _in_periods(opening_times.get("exceptional_openings") or [], moment):
        return True
    local = moment.astimezone(station_zone(time_zone))
    now = local.time()
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    for period in opening_times.get("regular_hours") or []:
        try:
            weekday = int(period["weekday"])
            begin = _hhmm(period["period_begin"])
            end = _hhmm(period["period_end"])
        except (KeyError, TypeError, ValueError):
            continue
        if end > begin:
            if weekday == today and begin <= now < end:
                return True
        elif (weekday == today and now >= begin) or (weekday == yesterday and now < end):
            return True
    return False


def describe(opening_times: dict[str, Any] | None) -> list[str]:
    """Opening hours as short lines a driver reads ("Mon 08:00-20:00"), local time."""
    if not opening_times or opening_times.get("twentyfourseven"):
        return [gettext("Open 24/7")]
    by_day: dict[int, list[str]] = {}
    for period in opening_times.get("regular_hours") or []:
        try:
            by_day.setdefault(int(period["weekday"]), []).append(
                f"{period['period_begin']}-{period['period_end']}"
            )
        except (KeyError, TypeError, ValueError):
            continue
    closed = gettext("closed")
    return [
        f"{WEEKDAYS[day - 1]} {', '.join(by_day[day]) if day in by_day else closed}"
        for day in range(1, 8)
    ]
