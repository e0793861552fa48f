"""The locations and tariffs senders: paging, filters, single objects, realistic stations."""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.catalogue import Catalogue
from sandbox.cities import distance_km
from sandbox.config import SandboxConfig
from sandbox.stations import locations_generate
from tests.sandbox.fixtures import EmspReceiver, SandboxHandle, auth, register


@pytest.fixture
def client(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> Iterator[tuple[httpx.Client, SandboxHandle]]:
    sandbox = sandbox_cpo_factory(stations=250, page_limit=100)
    token_c = register(sandbox, emsp_receiver)
    base = sandbox.versions_url.removesuffix("versions") + "2.2.1/"
    with httpx.Client(base_url=base, headers=auth(token_c)) as http:
        yield http, sandbox


def _follow(http: httpx.Client, url: str) -> list[httpx.Response]:
    replies = [http.get(url)]
    while "next" in replies[-1].links:
        replies.append(http.get(replies[-1].links["next"]["url"]))
    return replies


def test_pages_carry_total_count_limit_and_link_until_the_last(client) -> None:
    http, _ = client
    replies = _follow(http, "locations?limit=60")
    assert [len(r.json()["data"]) for r in replies] == [60, 60, 60, 60, 10]
    assert {r.headers["X-Total-Count"] for r in replies} == {"250"}
    assert {r.headers["X-Limit"] for r in replies} == {"100"}
    assert "link" not in replies[-1].headers
    assert replies[1].request.url.params["offset"] == "60"


def test_limit_above_the_server_maximum_is_capped(client) -> None:
    http, _ = client
    reply = http.get("locations?limit=5000")
    assert len(reply.json()["data"]) == 100
    assert "limit=100" in reply.links["next"]["url"]


def test_date_filters_select_by_last_updated_and_link_keeps_them(client) -> None:
    http, sandbox = client
    stamps = sorted(loc["last_updated"] for loc in sandbox.cpo.catalogue.locations.values())
    date_from, date_to = stamps[50], stamps[200]
    expected = sum(1 for s in stamps if date_from <= s < date_to)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    url = f"locations?date_from={date_from:{fmt}}&date_to={date_to:{fmt}}&limit=40"
    replies = _follow(http, url)
    got = [loc for r in replies for loc in r.json()["data"]]
    assert len(got) == expected == int(replies[0].headers["X-Total-Count"])
    for reply in replies[:-1]:
        link = reply.links["next"]["url"]
        assert f"date_from={date_from:{fmt}}".replace(":", "%3A") in link
        assert f"date_to={date_to:{fmt}}".replace(":", "%3A") in link
        assert "limit=40" in link


def test_offset_past_the_end_is_an_empty_last_page(client) -> None:
    http, _ = client
    reply = http.get("locations?offset=1000")
    assert reply.json()["data"] == []
    assert reply.headers["X-Total-Count"] == "250"
    assert "link" not in reply.headers


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=0", "limit must be at least 1"),
        ("offset=-1", "offset must be at least 0"),
        ("limit=ten", "whole number"),
        ("date_from=yesterday", "OCPI DateTime"),
        ("date_from=2026-01-01T00:00:00%2B01:00", "OCPI DateTime"),
    ],
)
def test_bad_paging_parameters_get_a_clear_2001(client, query: str, words: str) -> None:
    http, _ = client
    reply = http.get(f"locations?{query}")
    assert reply.status_code == 400
    assert reply.json()["status_code"] == 2001
    assert words in reply.json()["status_message"]


def test_single_location_evse_and_connector(client) -> None:
    http, sandbox = client
    location = next(iter(sandbox.cpo.catalogue.locations.values()))
    evse = location["evses"][0]
    connector = evse["connectors"][0]
    assert http.get(f"locations/{location['id']}").json()["data"]["id"] == location["id"]
    assert (
        http.get(f"locations/{location['id']}/{evse['uid']}").json()["data"]["uid"] == evse["uid"]
    )
    got = http.get(f"locations/{location['id']}/{evse['uid']}/{connector['id']}").json()["data"]
    assert got["standard"] == connector["standard"]


@pytest.mark.parametrize(
    "path", ["locations/NOPE", "locations/LOC0000001/NOPE", "locations/LOC0000001/LOC0000001-1/9"]
)
def test_unknown_objects_are_404_with_2003(client, path: str) -> None:
    http, _ = client
    reply = http.get(path)
    assert reply.status_code == 404
    assert reply.json()["status_code"] == 2003


def test_tariffs_list_holds_every_shape_in_euro(client) -> None:
    http, _ = client
    tariffs = [t for r in _follow(http, "tariffs?limit=4") for t in r.json()["data"]]
    assert {t["currency"] for t in tariffs} == {"EUR"}
    kinds = {c["type"] for t in tariffs for e in t["elements"] for c in e["price_components"]}
    assert kinds == {"ENERGY", "TIME", "PARKING_TIME", "FLAT"}
    restrictions = {
        k for t in tariffs for e in t["elements"] for k in (e.get("restrictions") or {})
    }
    assert {
        "start_time",
        "end_time",
        "day_of_week",
        "max_power",
        "max_kwh",
        "min_duration",
        "max_duration",
    } <= restrictions
    assert any("min_price" in t and "max_price" in t for t in tariffs)


def test_sessions_list_requires_date_from(client) -> None:
    http, _ = client
    assert http.get("sessions").json()["status_code"] == 2001
    assert http.get("sessions?date_from=2020-01-01T00:00:00Z").json()["data"] == []


def _generate(**overrides: Any) -> list[dict[str, Any]]:
    config = {"count": 3000, "seed": 7, "country_code": "NL", "party_id": "SBX", **overrides}
    return list(locations_generate(**config))


def test_same_seed_same_stations_other_seed_other_stations() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert _generate(count=300, now=now) == _generate(count=300, now=now)
    assert _generate(count=300, now=now) != _generate(count=300, now=now, seed=8)


def test_the_sandboxs_statuses_are_never_older_than_its_run(client) -> None:
    """A driver must not see "changed 1 year ago" on a sandbox started a minute ago."""
    http, sandbox = client
    started = sandbox.cpo.catalogue.started_at
    served = [loc for reply in _follow(http, "locations?limit=100") for loc in reply.json()["data"]]
    assert len(served) == 250
    run_start = f"{started:%Y-%m-%dT%H:%M:%SZ}"
    for location in served:
        assert location["last_updated"] >= run_start
        for evse in location["evses"]:
            assert evse["last_updated"] >= run_start
    assert datetime.now(UTC) - started < timedelta(minutes=1)


def test_the_sandbox_reconfirms_every_status_within_the_refresh_period(
    sandbox_cpo_factory, emsp_receiver: EmspReceiver
) -> None:
    sandbox = sandbox_cpo_factory(stations=4, status_refresh=1.0)
    register(sandbox, emsp_receiver)
    evses = set(sandbox.cpo.catalogue.evses)
    requests = emsp_receiver.wait_for(
        lambda rs: {r.path.rsplit("/", 1)[1] for r in rs if r.method == "PATCH"} >= evses
    )
    statuses = {uid: evse["status"] for uid, (_, evse) in sandbox.cpo.catalogue.evses.items()}
    for patch in (r for r in requests if r.method == "PATCH"):
        assert patch.body["status"] == statuses[patch.path.rsplit("/", 1)[1]]


def test_stations_are_realistic_in_proportion() -> None:
    locations = _generate()
    evses = [e for loc in locations for e in loc["evses"]]
    connectors = [c for e in evses for c in e["connectors"]]
    assert {len(loc["evses"]) for loc in locations} <= set(range(1, 9))
    ac = [c for c in connectors if c["power_type"] != "DC"]
    dc = [c for c in connectors if c["power_type"] == "DC"]
    assert 0.4 < len(ac) / len(connectors) < 0.8
    assert all(7000 <= c["max_electric_power"] <= 43000 for c in ac)
    assert all(50000 <= c["max_electric_power"] <= 350000 for c in dc)
    standards = Counter(c["standard"] for c in connectors)
    assert standards.most_common(1)[0][0] == "IEC_62196_T2"
    assert {"IEC_62196_T2_COMBO", "CHADEMO"} <= set(standards)
    open_all_day = sum(loc["opening_times"]["twentyfourseven"] for loc in locations)
    assert 0.6 < open_all_day / len(locations) < 0.97
    assert len({loc["operator"]["name"] for loc in locations}) >= 5
    assert len({loc["city"] for loc in locations}) >= 30
    assert Counter(e["status"] for e in evses).most_common(1)[0][0] == "AVAILABLE"


def test_region_narrows_stations_to_the_nearest_cities() -> None:
    catalogue = Catalogue(SandboxConfig(region=(52.37, 4.90), stations=300))
    for loc in catalogue.locations.values():
        lat, lon = float(loc["coordinates"]["latitude"]), float(loc["coordinates"]["longitude"])
        assert distance_km(52.37, 4.90, lat, lon) < 80
    assert {loc["city"] for loc in catalogue.locations.values()} <= {
        "Amsterdam",
        "Utrecht",
        "Den Haag",
    }


def test_status_change_moves_last_updated_of_evse_and_location(client) -> None:
    http, sandbox = client
    location = next(iter(sandbox.cpo.catalogue.locations.values()))
    before = location["last_updated"]
    sandbox.cpo.catalogue.evse_status_set(
        location["evses"][0]["uid"], "OUTOFORDER", before + timedelta(days=400)
    )
    served = http.get("locations?limit=1").json()["data"][0]
    assert served["evses"][0]["status"] == "OUTOFORDER"
    assert served["last_updated"] > f"{before:%Y-%m-%dT%H:%M:%SZ}"


def test_link_keeps_the_filters_exactly_as_sent(client) -> None:
    http, _ = client
    reply = http.get("locations?date_from=2025-01-01T00:00:00.5Z&limit=10")
    assert "date_from=2025-01-01T00%3A00%3A00.5Z" in reply.links["next"]["url"]


def test_public_url_is_what_versions_and_links_advertise(sandbox_cpo_factory) -> None:
    sandbox = sandbox_cpo_factory(public_url="https://cpo.example.com/")
    local = sandbox.versions_url.replace("https://cpo.example.com", "")
    assert sandbox.versions_url == "https://cpo.example.com/ocpi/versions"
    port = sandbox.cpo.config.port
    versions = httpx.get(f"http://127.0.0.1:{port}{local}", headers=auth("sandbox-a"))
    assert versions.json()["data"][0]["url"] == "https://cpo.example.com/ocpi/2.2.1"


def test_oversized_body_is_refused_without_reading_it(client) -> None:
    http, _ = client
    reply = http.post("commands/START_SESSION", content=b"x" * 1_000_001)
    assert reply.status_code == 413


def test_sites_put_a_location_at_each_real_site_dealt_over_the_parties(tmp_path) -> None:
    """A feed of real sites (an AFDC export): each site once, under its registered name and at
    its coordinates, the export's bad row left out, the sites dealt over the parties."""
    export = tmp_path / "afdc.csv.gz"
    rows = [f"Site {n},0{n:04d},{40 + n / 100:.6f},{-100 - n / 100:.6f},{n}" for n in range(24)]
    rows.insert(5, "Bad Site,00000,40.5,0,99")  # the real export's one row at lon 0
    with gzip.open(export, "wt") as handle:
        handle.write("Station Name,ZIP,Latitude,Longitude,ID\n" + "\n".join(rows) + "\n")
    catalogue = Catalogue(
        SandboxConfig(sites=str(export), stations=20, parties=4, country_code="US")
    )
    locations = [catalogue.locations[location_id] for location_id in catalogue.order]
    assert [loc["name"] for loc in locations] == [f"Site {n}" for n in range(20)]
    assert locations[3]["coordinates"] == {"latitude": "40.030000", "longitude": "-100.030000"}
    assert [loc["party_id"] for loc in locations[:5]] == ["S01", "S02", "S03", "S04", "S01"]
    assert Counter(loc["party_id"] for loc in locations) == dict.fromkeys(
        ("S01", "S02", "S03", "S04"), 5
    )
    for loc in locations:
        assert loc["postal_code"] == loc["name"].replace("Site ", "0").rjust(5, "0")
        assert loc["time_zone"].startswith("America/")
        for evse in loc["evses"]:
            assert evse["evse_id"].startswith(f"US*{loc['party_id']}*")
            assert {c["standard"] for c in evse["connectors"]} <= {
                "IEC_62196_T1",
                "IEC_62196_T1_COMBO",
                "CHADEMO",
            }
