"""The public search, map, station and geocoding API, as a client app uses it."""

import math
from datetime import UTC, datetime

import pytest
from django.test import Client

from locator.models import Location
from tests.locator.conftest import at, connector, evse, location

pytestmark = pytest.mark.django_db

AMSTERDAM = (52.3702, 4.8952)


@pytest.fixture
def amsterdam(put, tariffs) -> dict[str, Location]:
    """Four stations at known distances from Amsterdam centre."""
    return {
        "near_ccs": put(
            location(
                "NEAR",
                lat=52.3712,
                lon=4.8952,
                evses=(
                    evse("N1", "AVAILABLE", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
                    evse("N2", "CHARGING", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
                ),
            )
        ),
        "mid_ac_busy": put(
            location(
                "MID",
                lat=52.3900,
                lon=4.8952,
                operator_name="CityPlug",
                evses=(evse("M1", "CHARGING"),),
            )
        ),
        "far_chademo": put(
            location(
                "FAR",
                lat=52.4500,
                lon=4.8952,
                remote_start=True,
                evses=(evse("F1", "AVAILABLE", connector("CHADEMO", 50)),),
                opening_times={
                    "twentyfourseven": False,
                    "regular_hours": [
                        {"weekday": d, "period_begin": "08:00", "period_end": "09:00"}
                        for d in range(1, 8)
                    ],
                    "exceptional_closings": [
                        {
                            "period_begin": "2000-01-01T00:00:00Z",
                            "period_end": "2100-01-01T00:00:00Z",
                        }
                    ],
                },
            )
        ),
        "utrecht": put(location("UTR", lat=52.0907, lon=5.1214, city="Utrecht")),
    }


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()]


def search(client: Client, **params) -> object:
    return client.get("/api/v1/stations/", params)


def test_nearby_is_sorted_by_distance_with_distances(client: Client, amsterdam) -> None:
    response = search(client, lat=AMSTERDAM[0], lon=AMSTERDAM[1], radius_km=15)
    assert response.status_code == 200
    body = response.json()
    assert [s["id"] for s in body] == [
        amsterdam[k].id for k in ("near_ccs", "mid_ac_busy", "far_chademo")
    ]
    assert body[0]["distance_km"] == pytest.approx(0.11, abs=0.01)
    assert body[2]["distance_km"] == pytest.approx(8.87, abs=0.05)


def test_a_result_carries_counts_power_operator_price_and_status_age(
    client: Client, amsterdam
) -> None:
    first = search(client, lat=AMSTERDAM[0], lon=AMSTERDAM[1], radius_km=1).json()[0]
    assert first["connectors"]["IEC_62196_T2_COMBO"] == {"total": 2, "available": 1, "label": "CCS"}
    assert first["max_power_kw"] == 150.0
    assert first["operator"] == "Voltway"
    assert first["price"] == "€0.49/kWh; after 1 h also €0.10/min (no VAT)"
    assert first["status_age_s"] > 0
    assert first["url"] == f"/stations/{amsterdam['near_ccs'].id}/"


def test_a_station_whose_charge_points_differ_in_price_lists_from_the_lowest(
    client: Client, put, tariffs
) -> None:
    put(
        location(
            "MIX",
            lat=50.0,
            lon=8.0,
            evses=(
                evse("MIX-1", "AVAILABLE", connector(kw=22, tariffs=("AC",))),
                evse("MIX-2", "AVAILABLE", connector("IEC_62196_T2_COMBO", 50, tariffs=("DC",))),
            ),
        )
    )
    [listed] = search(client, lat=50.0, lon=8.0, radius_km=1).json()
    assert listed["price"] == "From €0.30/kWh"
    detail = client.get(listed["url"].replace("/stations/", "/api/v1/stations/")).json()
    assert detail["price"] == "From €0.30/kWh"


def test_radius_leaves_out_farther_stations(client: Client, amsterdam) -> None:
    assert ids(search(client, lat=AMSTERDAM[0], lon=AMSTERDAM[1], radius_km=3)) == [
        amsterdam["near_ccs"].id,
        amsterdam["mid_ac_busy"].id,
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"connector": "IEC_62196_T2_COMBO"}, ["near_ccs"]),
        ({"connector": ["IEC_62196_T2_COMBO", "CHADEMO"]}, ["near_ccs", "far_chademo"]),
        ({"connector": "iec_62196_t2_combo,chademo"}, ["near_ccs", "far_chademo"]),
        ({"available": "true"}, ["near_ccs", "far_chademo"]),
        ({"connector": "IEC_62196_T2", "available": "true"}, []),
        ({"min_power_kw": "100"}, ["near_ccs"]),
        ({"operator": "cityplug"}, ["mid_ac_busy"]),
        ({"remote_start": "true"}, ["far_chademo"]),
        ({"open_now": "true"}, ["near_ccs", "mid_ac_busy"]),
    ],
)
def test_each_filter_narrows_the_results(client: Client, amsterdam, params, expected) -> None:
    response = search(client, lat=AMSTERDAM[0], lon=AMSTERDAM[1], radius_km=15, **params)
    assert response.status_code == 200, response.content
    assert ids(response) == [amsterdam[k].id for k in expected]


def test_bbox_lists_stations_in_the_viewport_nearest_its_centre_first(
    client: Client, amsterdam
) -> None:
    response = search(client, bbox="4.7,52.3,5.0,52.5")
    assert set(ids(response)) == {
        amsterdam[k].id for k in ("near_ccs", "mid_ac_busy", "far_chademo")
    }
    assert "distance_km" not in response.json()[0]


def test_pagination_follows_the_link_header(client: Client, amsterdam) -> None:
    first = search(client, lat=AMSTERDAM[0], lon=AMSTERDAM[1], radius_km=15, limit=2)
    assert len(first.json()) == 2
    link = first["Link"]
    assert 'rel="next"' in link
    assert "offset=2" in link
    second = client.get(link.split(";")[0].strip("<>"))
    assert ids(second) == [amsterdam["far_chademo"].id]
    assert "Link" not in second


def test_hidden_and_unpublished_stations_are_not_found(client: Client, put) -> None:
    put(location("SECRET", publish=False))
    assert search(client, lat=52.3702, lon=4.8952).json() == []


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"lat": "abc", "lon": "4"}, "lat", "number"),
        ({"lat": "95", "lon": "4"}, "lat", "between"),
        ({"lon": "4"}, "lat", "give lat and lon"),
        ({"lat": "52", "lon": "4", "radius_km": "500"}, "radius_km", "between"),
        (
            {"lat": "52", "lon": "4", "connector": "FLUX_CAPACITOR"},
            "connector",
            "unknown connector",
        ),
        ({"lat": "52", "lon": "4", "available": "maybe"}, "available", "true or false"),
        ({"lat": "52", "lon": "4", "limit": "0"}, "limit", "between"),
        ({"lat": "52", "lon": "4", "limit": "2.5"}, "limit", "whole number"),
        ({"lat": "52", "lon": "4", "min_power_kw": "nan"}, "min_power_kw", "between"),
        ({"bbox": "1,2,3"}, "bbox", "four numbers"),
        ({"bbox": "170,-10,-170,10"}, "bbox", "antimeridian"),
        ({"bbox": "0,40,30,60"}, "bbox", "too large"),
        ({"bbox": "4,53,5,52"}, "bbox", "north of"),
        ({"lat": "52", "lon": "4", "operator": "\x00"}, "operator", "NUL"),
        ({"bbox": "4,52,5,53", "operator": "Ci\x00ty"}, "operator", "NUL"),
    ],
)
def test_bad_input_gets_a_400_naming_the_parameter(
    client: Client, params, parameter, words
) -> None:
    response = search(client, **params)
    assert response.status_code == 400
    assert words in str(response.json()[parameter])


def test_map_clusters_when_zoomed_out_and_stations_when_zoomed_in(
    client: Client, amsterdam
) -> None:
    zoomed_out = client.get("/api/v1/map/", {"bbox": "-10,35,30,60", "zoom": 4}).json()
    assert zoomed_out["kind"] == "clusters"
    assert sum(c["count"] for c in zoomed_out["items"]) == 4
    assert sum(c["available"] for c in zoomed_out["items"]) == 3
    zoomed_in = client.get("/api/v1/map/", {"bbox": "4.85,52.36,4.95,52.40", "zoom": 14}).json()
    assert zoomed_in["kind"] == "stations"
    assert {s["id"] for s in zoomed_in["items"]} == {
        amsterdam["near_ccs"].id,
        amsterdam["mid_ac_busy"].id,
    }


def test_map_clusters_respect_filters_from_the_grid_and_live(client: Client, amsterdam) -> None:
    grid_answer = client.get(
        "/api/v1/map/",
        {"bbox": "-10,35,30,60", "zoom": 4, "connector": "IEC_62196_T2_COMBO", "available": "true"},
    ).json()
    assert sum(c["count"] for c in grid_answer["items"]) == 1
    live = client.get(
        "/api/v1/map/", {"bbox": "-10,35,30,60", "zoom": 4, "min_power_kw": 40}
    ).json()
    # Few stations in view: the map gets them as pins.
    assert live["kind"] == "stations"
    assert {s["id"] for s in live["items"]} == {
        amsterdam["near_ccs"].id,
        amsterdam["far_chademo"].id,
    }


def test_a_nul_in_the_map_query_is_a_400_naming_the_parameter(client: Client) -> None:
    response = client.get("/api/v1/map/", {"bbox": "4,52,5,53", "zoom": "12", "operator": "\x00"})
    assert response.status_code == 400
    assert "NUL" in response.json()["operator"]


def test_map_without_zoom_or_bbox_says_which(client: Client) -> None:
    assert "zoom" in client.get("/api/v1/map/", {"bbox": "4,52,5,53"}).json()
    assert "bbox" in client.get("/api/v1/map/", {"zoom": 5}).json()


def test_station_detail_has_evses_connectors_tariffs_and_hours(client: Client, amsterdam) -> None:
    body = client.get(f"/api/v1/stations/{amsterdam['near_ccs'].id}/").json()
    assert [e["status"] for e in body["evses"]] == ["AVAILABLE", "CHARGING"]
    assert body["evses"][0]["connectors"][0]["label"] == "CCS"
    assert body["tariffs"]["DC"]["summary"] == "€0.49/kWh; after 1 h also €0.10/min (no VAT)"
    assert body["hours"] == ["Open 24/7"]
    assert body["open_now"] is True


def test_unknown_station_is_a_404_with_a_reason(client: Client) -> None:
    response = client.get("/api/v1/stations/999999/")
    assert response.status_code == 404
    assert "removed" in response.json()["detail"]


def test_open_now_uses_the_station_time_zone() -> None:
    from locator.hours import is_open

    hours = {
        "twentyfourseven": False,
        "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "18:00"}],
    }
    monday_7_utc = datetime(
        2026, 11, 23, 7, 30, tzinfo=UTC
    )  # 08:30 in Amsterdam, 02:30 in New York
    assert is_open(hours, "Europe/Amsterdam", monday_7_utc)
    assert not is_open(hours, "America/New_York", monday_7_utc)


def test_overnight_hours_span_midnight() -> None:
    from locator.hours import is_open

    hours = {
        "twentyfourseven": False,
        "regular_hours": [{"weekday": 5, "period_begin": "22:00", "period_end": "02:00"}],
    }
    assert is_open(hours, "UTC", datetime(2026, 11, 28, 1, 0, tzinfo=UTC))  # Saturday 01:00
    assert not is_open(hours, "UTC", datetime(2026, 11, 28, 3, 0, tzinfo=UTC))


def test_status_age_grows_from_the_last_status_update(client: Client, put) -> None:
    put(location("OLD", when=at(0)))
    result = search(client, lat=52.3702, lon=4.8952).json()[0]
    assert result["status_at"].startswith("2026-11-01T12:00")


def test_nearest_first_is_exact_however_dense_the_area(client: Client) -> None:
    """The search reads nearest first and stops after the page (on PostgreSQL), yet lists
    exactly what sorting every station of the area by distance would, page after page."""
    import random

    from locator.catalogue import catalogue_locations_upsert
    from sandbox.cities import cities_near
    from sandbox.demo import demo_locations
    from sandbox.stations import locations_generate

    amsterdam = cities_near(52.37, 4.89, count=1)
    for source, count, spread_km, seed in (("dense", 400, 3, 1), ("sparse", 100, 40, 2)):
        generated = locations_generate(
            count=count,
            seed=seed,
            country_code="NL",
            party_id="PLW",
            cities=amsterdam,
            spread_km=spread_km,
        )
        catalogue_locations_upsert(source=source, records=list(demo_locations(generated)))
    stations = list(
        Location.objects.filter(visible=True).values("id", "lat", "lon", "available_count")
    )
    rng = random.Random(3)  # noqa: S311
    for _ in range(10):
        lat, lon = 52.37 + rng.uniform(-0.3, 0.3), 4.89 + rng.uniform(-0.4, 0.4)
        for available in (False, True):
            query = {"lat": lat, "lon": lon, "radius_km": 30, "limit": 20}
            if available:
                query["available"] = "true"
            pages = ids(search(client, **query)) + ids(search(client, **query, offset=20))
            assert pages == nearest_by_sorting(stations, lat, lon, available=available)[:40]


def nearest_by_sorting(
    stations: list[dict], lat: float, lon: float, *, available: bool
) -> list[int]:
    """The ids of the stations within 30 km, sorted by (equirectangular) distance, then id."""
    k = math.cos(math.radians(lat))
    ranked = sorted(
        ((s["lat"] - lat) ** 2 + ((s["lon"] - lon) * k) ** 2, s["id"])
        for s in stations
        if s["available_count"] or not available
    )
    return [pk for d2, pk in ranked if d2 <= (30 / 111.195) ** 2]


def test_geojson_export_is_the_current_search_as_points(client: Client, amsterdam) -> None:  # type: ignore[no-untyped-def]
    query = {"bbox": "4.8,52.3,5.0,52.4", "connector": "IEC_62196_T2_COMBO"}
    listed = client.get("/api/v1/stations/", query).json()
    response = client.get("/api/v1/stations.geojson", query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert "plugway-stations.geojson" in response["Content-Disposition"]
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert [f["properties"]["id"] for f in collection["features"]] == [s["id"] for s in listed]
    first, station = collection["features"][0], listed[0]
    assert first["geometry"] == {"type": "Point", "coordinates": [station["lon"], station["lat"]]}
    assert first["properties"]["connectors"] == station["connectors"]
    bad = client.get("/api/v1/stations.geojson", {"bbox": "x"})
    assert bad.status_code == 400
