"""Favourites: a signed-in driver stars stations and finds them again with live status; each
driver sees and changes only their own, through CSRF-protected writes."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from locator.models import Favourite
from tests.locator.conftest import location

pytestmark = pytest.mark.django_db


@pytest.fixture
def stations(put, settings):  # type: ignore[no-untyped-def]
    settings.LOCATOR_STATUS_MAX_AGE_MINUTES = 10**7  # the records are dated a fixed past day
    return put(location("FAV1", name="Damrak Hub")), put(location("FAV2", name="Dam Square"))


def driver(name: str) -> Client:
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "a long password")
    client = Client()
    client.force_login(user)
    return client


def test_a_driver_stars_a_station_and_sees_it_with_its_status(stations) -> None:
    hub, square = stations
    ana = driver("ana")
    assert ana.put(f"/api/v1/favourites/{hub.id}/").status_code == 201
    assert ana.put(f"/api/v1/favourites/{hub.id}/").status_code == 200  # twice is harmless
    assert ana.put(f"/api/v1/favourites/{square.id}/").status_code == 201
    listed = ana.get("/api/v1/favourites/").json()
    assert [s["name"] for s in listed] == ["Dam Square", "Damrak Hub"]  # newest first
    assert listed[0]["status_text"].startswith("1 of 1 free · reported ")
    page = ana.get("/favourites/").content.decode()
    assert "Damrak Hub" in page
    assert "1 of 1 free" in page
    assert ana.delete(f"/api/v1/favourites/{hub.id}/").status_code == 204
    assert [s["name"] for s in ana.get("/api/v1/favourites/").json()] == ["Dam Square"]


def test_the_station_page_star_works_without_javascript(stations) -> None:
    hub, _ = stations
    ana = driver("ana")
    assert "☆</span> Save" in ana.get(f"/stations/{hub.id}/").content.decode()
    reply = ana.post(f"/stations/{hub.id}/favourite/", {"favourite": "add"}, follow=True)
    assert "Saved to your favourites." in reply.content.decode()
    assert 'aria-pressed="true"' in reply.content.decode()
    reply = ana.post(
        f"/stations/{hub.id}/favourite/",
        {"favourite": "remove", "next": "https://evil.example.com/"},
    )
    assert reply["Location"] == f"/stations/{hub.id}/"  # no open redirect
    assert not Favourite.objects.exists()


def test_drivers_see_and_change_only_their_own_favourites(stations) -> None:
    hub, _ = stations
    ana, ben = driver("ana"), driver("ben")
    ana.put(f"/api/v1/favourites/{hub.id}/")
    assert ben.get("/api/v1/favourites/").json() == []
    assert "Damrak Hub" not in ben.get("/favourites/").content.decode()
    assert ben.delete(f"/api/v1/favourites/{hub.id}/").status_code == 404
    assert Favourite.objects.filter(location=hub).count() == 1


def test_signed_out_visitors_have_no_favourites(client: Client, stations) -> None:
    hub, _ = stations
    assert client.get("/api/v1/favourites/").status_code == 403
    assert client.put(f"/api/v1/favourites/{hub.id}/").status_code == 403
    assert client.get("/favourites/")["Location"].startswith("/accounts/login/")
    assert client.post(f"/stations/{hub.id}/favourite/")["Location"].startswith("/accounts/login/")
    assert "Sign in to save" in client.get(f"/stations/{hub.id}/").content.decode()


def test_a_star_without_the_csrf_token_is_refused(stations) -> None:
    hub, _ = stations
    user = get_user_model().objects.create_user("cy", "cy@example.com", "a long password")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.put(f"/api/v1/favourites/{hub.id}/").status_code == 403
    assert strict.post(f"/stations/{hub.id}/favourite/", {"favourite": "add"}).status_code == 403
    assert not Favourite.objects.exists()


def test_an_unknown_station_cannot_be_starred(stations) -> None:
    ana = driver("ana")
    assert ana.put("/api/v1/favourites/999999/").status_code == 404
    assert ana.post("/stations/999999/favourite/").status_code == 404
