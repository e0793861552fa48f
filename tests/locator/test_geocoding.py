"""Place search: the configured geocoder over real HTTP, and our catalogue when it fails."""

import socket

import pytest
from django.test import Client

from tests.locator.conftest import location

pytestmark = pytest.mark.django_db


def geocode(client: Client, q: str) -> dict:
    response = client.get("/api/v1/geocode/", {"q": q})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_place_comes_from_the_geocoder_with_its_box(client: Client, fake_geocoder) -> None:
    fake_geocoder.places["utrecht"] = {
        "lat": "52.0907",
        "lon": "5.1214",
        "display_name": "Utrecht, Netherlands",
        "boundingbox": ["52.02", "52.14", "5.00", "5.20"],
    }
    body = geocode(client, "Utrecht")
    assert body["place"]["source"] == "geocoder"
    assert body["place"]["label"] == "Utrecht, Netherlands"
    assert body["place"]["bbox"] == [5.0, 52.02, 5.2, 52.14]
    assert body["message"] == ""


def test_answers_are_cached(client: Client, fake_geocoder) -> None:
    fake_geocoder.places["delft"] = {"lat": "52.01", "lon": "4.36", "display_name": "Delft"}
    geocode(client, "Delft")
    geocode(client, "  delft ")
    assert fake_geocoder.queries == ["Delft"]


def test_nothing_found_falls_back_to_our_station_cities_and_says_so(
    client: Client, fake_geocoder, put
) -> None:
    put(location("A", city="Zaandam", lat=52.44, lon=4.82))
    body = geocode(client, "zaandam")
    assert body["place"]["source"] == "catalogue"
    assert body["place"]["label"] == "Zaandam"
    assert "found nothing" in body["message"]


def test_an_unreachable_geocoder_falls_back_and_says_so(client: Client, settings, put) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.LOCATOR_GEOCODER_URL = f"http://127.0.0.1:{port}"
    settings.LOCATOR_GEOCODER_TIMEOUT = 1
    put(location("A", name="Harbour Hub", city="Almere", lat=52.37, lon=5.21))
    body = geocode(client, "harbour hub")
    assert body["place"]["label"] == "Harbour Hub, Almere"
    assert "did not answer" in body["message"]


def test_a_postal_code_matches_our_stations(client: Client, put) -> None:
    put(location("A", postal_code="1012AB"))
    assert geocode(client, "1012ab")["place"]["source"] == "catalogue"


def test_nothing_anywhere_says_what_to_try(client: Client) -> None:
    body = geocode(client, "Atlantis")
    assert body["place"] is None
    assert "Try a city or a postal code" in body["message"]


def test_an_empty_query_is_a_400(client: Client) -> None:
    assert client.get("/api/v1/geocode/", {"q": " "}).status_code == 400


def test_a_nul_in_the_query_is_a_400_naming_it(client: Client) -> None:
    response = client.get("/api/v1/geocode/?q=Amster%00dam")
    assert response.status_code == 400
    assert "NUL" in response.json()["q"]


def test_photon_is_asked_when_configured_and_its_box_kept(
    client: Client, fake_geocoder, settings
) -> None:
    settings.LOCATOR_GEOCODER_KIND = "photon"
    fake_geocoder.places["leiden"] = {
        "lat": "52.16",
        "lon": "4.49",
        "display_name": "Leiden",
        "boundingbox": ["52.13", "52.18", "4.44", "4.53"],
    }
    body = geocode(client, "Leiden")
    assert body["place"]["source"] == "geocoder"
    assert body["place"]["label"] == "Leiden"
    assert body["place"]["bbox"] == [4.44, 52.13, 4.53, 52.18]


def test_the_geocoders_other_answers_are_offered_beside_its_best(
    client: Client, fake_geocoder
) -> None:
    fake_geocoder.places["bergen"] = [
        {"lat": "60.39", "lon": "5.32", "display_name": "Bergen, Norway"},
        {"lat": "52.67", "lon": "4.70", "display_name": "Bergen, North Holland, Netherlands"},
    ]
    body = geocode(client, "Bergen")
    assert body["place"]["label"] == "Bergen, Norway"
    assert [c["label"] for c in body["choices"]] == ["Bergen, North Holland, Netherlands"]
