"""The map and station pages as a browser without JavaScript receives them."""

import pytest
from django.test import Client

from tests.locator.conftest import evse, location

pytestmark = pytest.mark.django_db


def test_the_map_page_loads_leaflet_and_our_script_from_our_origin(client: Client) -> None:
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "vendor/leaflet/leaflet.js" in page
    assert "js/map.js" in page
    assert "tile.openstreetmap.org" in response["Content-Security-Policy"]


def test_the_tile_server_is_configurable_and_allowed_by_the_policy(
    client: Client, settings
) -> None:
    settings.LOCATOR_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    response = client.get("/")
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in response.content.decode()


def test_the_station_page_reads_like_a_driver_expects(client: Client, put, tariffs) -> None:
    station = put(
        location(
            "P1",
            facilities=("CAFE",),
            evses=(evse("P1-1", "CHARGING"),),
            opening_times={
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
            },
        )
    )
    page = client.get(f"/stations/{station.id}/").content.decode()
    for text in (
        "Station P1",
        "Voltway",
        "Damrak 1",
        "In use",
        "Type 2",
        "22 kW",
        "€0.30/kWh",
        "Mon 08:00-20:00",
        "Tue closed",
        "Cafe",
        "Start charging",
    ):
        assert text in page, text
    assert "About €9.00 for 30 kWh in 45 min" in page
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=52.370200%2C4.895200" in page


def test_a_removed_station_page_is_a_404(client: Client, put) -> None:
    station = put(location("GONE", evses=(evse("G1", "REMOVED"),)))
    assert client.get(f"/stations/{station.id}/").status_code == 404
