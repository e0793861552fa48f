"""A station a CPO publishes only to certain drivers (`publish_allowed_to`): hidden from the
public everywhere (search, map clusters, station pages), shown to the drivers it names."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from locator.models import Location
from roaming.models import DriverToken
from tests.locator.conftest import location

pytestmark = pytest.mark.django_db

NEAR = {"lat": "52.3702", "lon": "4.8952", "radius_km": "5"}
WHOLE_MAP = {"bbox": "3,50,7,54", "zoom": "6"}


def driver(name: str, uid: str) -> Client:
    user = User.objects.create_user(name, f"{name}@example.com", "x" * 12)
    DriverToken.objects.create(user=user, uid=uid, contract_id=f"NL-PLW-C{user.pk:08d}-X")
    client = Client()
    client.force_login(user)
    return client


def found(client: Client) -> set[str]:
    return {item["name"] for item in client.get("/api/v1/stations/", NEAR).json()}


def clustered(client: Client) -> int:
    answer = client.get("/api/v1/map/", WHOLE_MAP).json()
    assert answer["kind"] == "clusters"
    return sum(item["count"] for item in answer["items"])


@pytest.fixture
def stations(put: Callable[..., Location]) -> tuple[Location, Location, Location]:
    public = put(location("PUB", lat=52.3702, lon=4.8952))
    # As the spec means it (publish false), and as some CPOs send it (publish left true).
    members = put(
        location(
            "MEMBERS",
            lat=52.3712,
            lon=4.8962,
            publish=False,
            publish_allowed_to=({"uid": "driver-uid-1", "type": "APP_USER"},),
        )
    )
    fleet = put(
        location(
            "FLEET",
            lat=52.3722,
            lon=4.8972,
            publish=True,
            publish_allowed_to=({"visual_number": "NL-PLW-FLEET", "issuer": "NewMotion"},),
        )
    )
    return public, members, fleet


def test_restricted_stations_are_hidden_from_the_public(client: Client, stations) -> None:  # type: ignore[no-untyped-def]
    public, members, fleet = stations
    assert found(client) == {"Station PUB"}
    assert clustered(client) == 1
    for hidden in (members, fleet):
        assert client.get(f"/api/v1/stations/{hidden.pk}/").status_code == 404
        assert client.get(f"/stations/{hidden.pk}/").status_code == 404
        assert client.get(f"/api/v1/stations/{hidden.pk}/comments/").status_code == 404
        assert client.get(f"/api/v1/stations/{hidden.pk}/status/").status_code == 404
    assert client.get(f"/stations/{public.pk}/").status_code == 200


def test_a_restricted_station_is_shown_to_the_driver_its_list_names(stations) -> None:  # type: ignore[no-untyped-def]
    _, members, fleet = stations
    member = driver("member", uid="DRIVER-UID-1")  # uid is a CiString: case does not matter
    assert found(member) == {"Station PUB", "Station MEMBERS"}
    assert member.get(f"/api/v1/stations/{members.pk}/").status_code == 200
    assert member.get(f"/stations/{members.pk}/").status_code == 200
    assert member.get(f"/stations/{fleet.pk}/").status_code == 404
    live = member.get(f"/api/v1/stations/{members.pk}/status/")
    assert (live.status_code, live.json()["evses"]) == (200, 1)
    assert member.get(f"/api/v1/stations/{fleet.pk}/status/").status_code == 404
    zoomed_in = member.get("/api/v1/map/", {"bbox": "4.88,52.36,4.91,52.38", "zoom": "16"})
    assert {item["name"] for item in zoomed_in.json()["items"]} == {
        "Station PUB",
        "Station MEMBERS",
    }


def test_the_driver_it_names_can_star_it_and_finds_it_among_favourites(stations) -> None:  # type: ignore[no-untyped-def]
    public, members, fleet = stations
    member = driver("member", uid="driver-uid-1")
    assert member.put(f"/api/v1/favourites/{members.pk}/").status_code == 201
    assert member.put(f"/api/v1/favourites/{public.pk}/").status_code == 201
    assert member.put(f"/api/v1/favourites/{fleet.pk}/").status_code == 404  # not its to see
    starred = member.get("/api/v1/favourites/").json()
    assert [item["name"] for item in starred] == ["Station PUB", "Station MEMBERS"]
    # Once the CPO names other drivers only, it is no longer this driver's to see.
    members.publish_allowed_to = [{"uid": "someone-else", "type": "APP_USER"}]
    members.save(update_fields=["publish_allowed_to"])
    assert [item["name"] for item in member.get("/api/v1/favourites/").json()] == ["Station PUB"]


def test_other_drivers_and_drivers_without_a_token_do_not_see_it(stations) -> None:  # type: ignore[no-untyped-def]
    _, members, _ = stations
    stranger = driver("stranger", uid="SOMEONE-ELSE")
    assert found(stranger) == {"Station PUB"}
    assert stranger.get(f"/api/v1/stations/{members.pk}/status/").status_code == 404
    tokenless = User.objects.create_user("new", "new@example.com", "x" * 12)
    client = Client()
    client.force_login(tokenless)
    assert found(client) == {"Station PUB"}
    assert clustered(client) == 1


def test_a_station_that_drops_its_list_becomes_public(put, stations) -> None:  # type: ignore[no-untyped-def]
    put(location("MEMBERS", lat=52.3712, lon=4.8962, when=location("X").last_updated))
    assert "Station MEMBERS" in found(Client())
