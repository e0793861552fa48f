"""Live status: each EVSE shows its status with the age of the report, a report older than
LOCATOR_STATUS_MAX_AGE_MINUTES shows as unknown, and pages can poll a small endpoint."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from locator.catalogue import EvseStatusUpdate
from locator.catalogue.statuses import evse_statuses_apply
from tests.locator.conftest import SOURCE, evse, location

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(put, settings):  # type: ignore[no-untyped-def]
    settings.LOCATOR_STATUS_MAX_AGE_MINUTES = 60
    now = timezone.now().replace(microsecond=0)
    return put(
        location(
            "LIVE",
            when=now - timedelta(minutes=5),
            evses=(
                evse("OLD", "AVAILABLE", when=now - timedelta(days=2)),
                evse("NEW", "AVAILABLE", when=now - timedelta(minutes=5)),
                evse("BUSY", "CHARGING", when=now - timedelta(minutes=5)),
            ),
        )
    )


def test_a_status_older_than_the_threshold_is_shown_as_unknown(client: Client, station) -> None:
    reply = client.get(f"/api/v1/stations/{station.id}/status/")
    assert reply.status_code == 200
    assert reply["Cache-Control"] == "no-store"
    state = reply.json()
    busy, new, old = state["items"]  # in uid order
    assert old["status"] == "UNKNOWN"
    assert old["stale"] is True
    assert old["label"] == "Status unknown"
    assert old["age"] == "last report 2 days ago (said Available)"
    assert (new["label"], new["age"], new["stale"]) == ("Available", "reported 5 min ago", False)
    assert (busy["label"], busy["age"]) == ("In use", "reported 5 min ago")
    assert (new["startable"], busy["startable"]) == (True, False)
    # Only a fresh "Available" counts as free.
    assert (state["available"], state["evses"]) == (1, 3)


def test_the_station_page_shows_each_status_with_its_age(client: Client, station) -> None:
    page = client.get(f"/stations/{station.id}/").content.decode()
    assert "Status unknown" in page
    assert "last report 2 days ago (said Available)" in page
    assert "reported 5 min ago" in page
    assert "1 of 3 available" in page
    assert 'id="live-config"' in page


def test_the_station_list_marks_a_stale_status(client: Client, put, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOCATOR_STATUS_MAX_AGE_MINUTES = 60
    now = timezone.now()
    put(
        location(
            "STALE",
            lat=52.0,
            lon=5.0,
            when=now - timedelta(hours=3),
            evses=(evse("S1", when=now - timedelta(hours=3)),),
        )
    )
    put(location("FRESH", lat=52.001, lon=5.0, when=now, evses=(evse("F1", when=now),)))
    rows = client.get("/api/v1/stations/?lat=52&lon=5&radius_km=5").json()
    assert {r["name"]: r["status_stale"] for r in rows} == {
        "Station STALE": True,
        "Station FRESH": False,
    }


def test_a_station_whose_every_charge_point_is_out_of_order_is_listed_so(
    client: Client, put
) -> None:
    now = timezone.now().replace(microsecond=0)
    for oid, lat, statuses in (
        ("BROKEN", 52.0, ("OUTOFORDER", "INOPERATIVE")),
        ("BUSY", 52.001, ("CHARGING", "OUTOFORDER")),
    ):
        evses = tuple(evse(f"{oid}{n}", status, when=now) for n, status in enumerate(statuses))
        put(location(oid, lat=lat, lon=5.0, when=now, evses=evses))

    def listed() -> dict[str, tuple[int, int, int, str]]:
        rows = client.get("/api/v1/stations/?lat=52&lon=5&radius_km=5").json()
        return {
            r["name"]: (r["available"], r["out_of_order"], r["evses"], r["status_text"])
            for r in rows
        }

    assert listed() == {
        "Station BROKEN": (0, 2, 2, "Out of order · reported just now"),
        "Station BUSY": (0, 1, 2, "0 of 2 free · reported just now"),
    }
    # Repaired: a status push brings the station back among the ones in use.
    evse_statuses_apply(
        source=SOURCE,
        updates=[EvseStatusUpdate("NL", "PLW", "BROKEN", "BROKEN0", "CHARGING", now)],
    )
    assert listed()["Station BROKEN"] == (0, 1, 2, "0 of 2 free · reported just now")


def test_an_unknown_station_has_no_status(client: Client) -> None:
    reply = client.get("/api/v1/stations/999999/status/")
    assert reply.status_code == 404
    assert "No such station" in reply.json()["detail"]


def test_the_station_list_counts_what_the_viewport_holds(client: Client, put) -> None:  # type: ignore[no-untyped-def]
    for n in range(7):
        put(location(f"C{n}", lat=52.0 + n / 1000, lon=5.0))
    reply = client.get("/api/v1/stations/?bbox=4.9,51.9,5.1,52.1&limit=3&count=true")
    assert reply["X-Total-Count"] == "7"
    assert len(reply.json()) == 3
    assert "X-Total-Count" not in client.get("/api/v1/stations/?bbox=4.9,51.9,5.1,52.1")
    # The last page, a page holding them all and one past the end count the same.
    for query, listed in (("limit=3&offset=6", 1), ("limit=10", 7), ("limit=3&offset=9", 0)):
        reply = client.get(f"/api/v1/stations/?bbox=4.9,51.9,5.1,52.1&{query}&count=true")
        assert (reply["X-Total-Count"], len(reply.json())) == ("7", listed)
