"""Place search on the embedded default (no geocoder): our stations' addresses, postcodes,
cities and names, as drivers type them, on whichever database the tests run on (CI runs this
module on PostgreSQL and again on SQLite, the embedded default's database)."""

from collections.abc import Callable

import pytest
from django.test import Client

from locator.catalogue import catalogue_locations_upsert
from locator.models import Location
from sandbox.catalogue import Catalogue
from sandbox.config import SandboxConfig
from sandbox.demo import demo_locations
from tests.locator.conftest import location

pytestmark = pytest.mark.django_db

# Like the sandbox's: stations around Amsterdam, Utrecht and Munich ("München" as a German
# operator writes it, "Munich" as the sandbox does), and a Keizersgracht in several cities.
SEED = [
    ("AMS1", "Voltway Damrak", "Damrak 1", "1012 AB", "Amsterdam", 52.3745, 4.8975),
    ("AMS2", "Voltway Damrak Noord", "Damrak 70", "1012 LM", "Amsterdam", 52.3760, 4.8960),
    ("AMS3", "Canal Charge", "Keizersgracht 12", "1015 CS", "Amsterdam", 52.3766, 4.8870),
    ("UTR1", "Utrecht Hub", "Keizersgracht 3", "3511 LX", "Utrecht", 52.0930, 5.1180),
    (
        "UTR2",
        "Utrecht Amsterdamsestraatweg",
        "Amsterdamsestraatweg 5",
        "3513 AA",
        "Utrecht",
        52.1010,
        5.1050,
    ),
    ("DHG1", "Haagse Laad", "Keizersgracht 8", "2511 CV", "Den Haag", 52.0800, 4.3100),
    ("MUC1", "Stadtwerke Marienplatz", "Marienplatz 1", "80331", "München", 48.1374, 11.5755),
    ("MUC2", "Sandbox Munich Hauptstraße", "Hauptstraße 40", "80331", "Munich", 48.1400, 11.5600),
]


@pytest.fixture
def stations(put: Callable[..., Location]) -> dict[str, Location]:
    return {
        oid: put(
            location(
                oid, name=name, address=address, postal_code=postcode, city=city, lat=lat, lon=lon
            )
        )
        for oid, name, address, postcode, city, lat, lon in SEED
    }


def geocode(client: Client, q: str, **params: str) -> dict:
    response = client.get("/api/v1/geocode/", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def inside(place: dict, station: Location) -> bool:
    west, south, east, north = place["bbox"]
    return west <= station.lon <= east and south <= station.lat <= north


@pytest.mark.parametrize("typed", ["1012AB", "1012 ab", "1012ab", " 1012  AB "])
def test_a_postcode_is_found_whatever_its_spacing_and_case(
    client: Client, stations: dict[str, Location], typed: str
) -> None:
    body = geocode(client, typed)
    assert body["place"]["kind"] == "postcode"
    assert body["place"]["label"] == "1012 AB Amsterdam"
    assert (body["place"]["lat"], body["place"]["lon"]) == (52.3745, 4.8975)
    assert body["message"] == ""


def test_a_street_and_city_find_that_street(client: Client, stations: dict[str, Location]) -> None:
    body = geocode(client, "damrak amsterdam")
    assert body["place"]["kind"] == "street"
    assert body["place"]["label"] == "Damrak, Amsterdam"
    assert inside(body["place"], stations["AMS1"])
    assert inside(body["place"], stations["AMS2"])
    assert not inside(body["place"], stations["AMS3"])


@pytest.mark.parametrize("typed", ["munchen", "München", "MUNCHEN", "muenchen", "Munich"])
def test_a_city_is_found_without_its_accents_and_by_its_other_names(
    client: Client, stations: dict[str, Location], typed: str
) -> None:
    body = geocode(client, typed)
    assert body["place"]["kind"] == "city"
    assert body["place"]["label"] in ("München", "Munich")
    assert 48.1 < body["place"]["lat"] < 48.2
    assert 11.5 < body["place"]["lon"] < 11.6
    assert body["message"] == ""


def test_a_city_name_inside_a_street_name_does_not_make_it_ambiguous(
    client: Client, stations: dict[str, Location]
) -> None:
    body = geocode(client, "Amsterdam")
    assert body["place"]["kind"] == "city"
    assert body["place"]["label"] == "Amsterdam"
    assert [inside(body["place"], stations[s]) for s in ("AMS1", "AMS2", "AMS3", "UTR2")] == [
        True,
        True,
        True,
        False,
    ]


def test_an_ambiguous_street_offers_a_choice_nearest_to_the_view_first(
    client: Client, stations: dict[str, Location]
) -> None:
    body = geocode(client, "Keizersgracht", near="52.09,5.12")  # looking at Utrecht
    assert body["place"] is None
    assert [c["label"] for c in body["choices"]] == [
        "Keizersgracht, Utrecht",
        "Keizersgracht, Amsterdam",
        "Keizersgracht, Den Haag",
    ]
    assert body["message"] == "3 places match “Keizersgracht”; choose one."
    from_the_hague = geocode(client, "keizersgracht", near="52.08,4.31")
    assert from_the_hague["choices"][0]["label"] == "Keizersgracht, Den Haag"


def test_a_station_name_finds_the_station(client: Client, stations: dict[str, Location]) -> None:
    body = geocode(client, "canal charge")
    assert body["place"]["kind"] == "station"
    assert body["place"]["label"] == "Canal Charge, Amsterdam"
    assert body["place"]["detail"] == "Keizersgracht 12"


def test_a_word_we_do_not_know_is_left_out_and_said(
    client: Client, stations: dict[str, Location]
) -> None:
    body = geocode(client, "amsterdam centraal")
    assert body["place"]["label"] == "Amsterdam"
    assert body["message"] == "No station near “centraal”; showing “amsterdam”."


def test_no_developer_wording_reaches_drivers(
    client: Client, stations: dict[str, Location]
) -> None:
    for typed in ("1012AB", "munchen", "Keizersgracht", "Atlantis"):
        assert "station list only" not in geocode(client, typed)["message"]


def test_suggestions_as_you_type(client: Client, stations: dict[str, Location]) -> None:
    def labels(q: str, **params: str) -> list[str]:
        response = client.get("/api/v1/places/", {"q": q, **params})
        assert response.status_code == 200
        return [p["label"] for p in response.json()["places"]]

    assert labels("1012") == ["1012 AB Amsterdam", "1012 LM Amsterdam"]
    assert labels("mun") in (["München"], ["Munich"])  # one city, however it is spelt
    assert labels("keizers", near="48.1,11.5")[0] == "Keizersgracht, Utrecht"
    assert labels("") == []
    assert labels("zzzz") == []


def test_a_renamed_station_is_found_by_its_new_address(
    client: Client, stations: dict[str, Location], put: Callable[..., Location]
) -> None:
    put(
        location(
            "AMS3",
            name="Canal Charge",
            address="Prinsengracht 7",
            postal_code="1015 CS",
            city="Amsterdam",
            lat=52.3766,
            lon=4.8870,
            when=stations["AMS3"].last_updated.replace(year=2027),
        )
    )
    assert geocode(client, "prinsengracht")["place"]["label"] == "Prinsengracht, Amsterdam"


@pytest.fixture
def sandbox_catalogue() -> list[dict]:
    """The demo's catalogue: the sandbox CPO's own 2,000 generated stations (its default
    seed and cities), read in as a pull from it would."""
    stations = list(Catalogue(SandboxConfig()).locations.values())
    catalogue_locations_upsert(source="partner:1", records=list(demo_locations(stations)))
    return stations


def test_the_sandboxs_stations_are_found_by_street_postcode_and_city(
    client: Client, sandbox_catalogue: list[dict]
) -> None:
    amsterdam = [s for s in sandbox_catalogue if s["city"] == "Amsterdam"]
    street = amsterdam[0]["address"].rsplit(" ", 1)[0]  # "Stationsplein 12" -> "Stationsplein"
    on_street = [s for s in amsterdam if s["address"].rsplit(" ", 1)[0] == street]
    assert on_street

    body = geocode(client, f"{street.lower()} amsterdam")
    assert body["place"]["kind"] == "street"
    assert body["place"]["label"] == f"{street}, Amsterdam"
    west, south, east, north = body["place"]["bbox"]
    for station in on_street:
        coordinates = station["coordinates"]
        assert west <= float(coordinates["longitude"]) <= east
        assert south <= float(coordinates["latitude"]) <= north

    body = geocode(client, "1012AB")
    assert body["place"]["kind"] == "postcode"
    assert body["place"]["label"] == "1012 AB Amsterdam"

    body = geocode(client, "amsterdam")
    assert body["place"]["kind"] == "city"
    assert body["place"]["label"] == "Amsterdam"
    assert body["message"] == ""

    body = geocode(client, "munchen")  # the sandbox spells it "Munich"
    assert body["place"]["kind"] == "city"
    assert body["place"]["label"] == "Munich"
