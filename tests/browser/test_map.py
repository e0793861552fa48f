"""The map a driver trusts, in Chromium at phone (390x844) and desktop (1280x800) sizes:
a basemap without internet, pins and clusters, live statuses, favourites."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from sandbox.cities import cities_near
from sandbox.demo import demo_locations, demo_tariffs
from sandbox.stations import locations_generate
from tests.browser.conftest import screenshot, sign_in
from tests.locator.conftest import connector, evse, location
from tests.payments.conftest import localstripe, localstripe_server
from tests.roaming.charging import Net, charging_net, charging_net_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The sandbox registered with the live server, as the roaming tests have it.
__all__ = ["charging_net", "charging_net_factory", "localstripe", "localstripe_server"]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = pytest.mark.parametrize("size", ["phone", "desktop"])
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
DASH = "\u2013"  # the en dash between the first and last row of a list page
# Nothing listens on port 9: every tile fails at once, as on a machine without internet.
UNREACHABLE_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"


@pytest.fixture
def netherlands(settings) -> None:
    """The sandbox's stations around the three largest Dutch cities, dated now."""
    settings.LOCATOR_TILE_URL = UNREACHABLE_TILES
    catalogue_tariffs_upsert(source="demo", records=demo_tariffs(country_code="NL", party_id="PLW"))
    generated = locations_generate(
        count=400,
        seed=3,
        country_code="NL",
        party_id="PLW",
        cities=cities_near(52.2, 4.9, count=3),
        now=datetime.now(UTC),
    )
    catalogue_locations_upsert(source="demo", records=list(demo_locations(generated)))
    # One station far from any other (the Afsluitdijk): a pin at every zoom, never a "1" bubble.
    catalogue_locations_upsert(
        source="partner:1",
        records=[
            location(
                "LONE",
                name="Afsluitdijk Lone Charger",
                lat=53.05,
                lon=5.25,
                when=datetime.now(UTC),
                evses=(
                    evse(
                        "L1",
                        "AVAILABLE",
                        connector("IEC_62196_T2_COMBO", 150),
                        when=datetime.now(UTC),
                    ),
                ),
            )
        ],
    )


def marker_boxes(page) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#map .leaflet-marker-pane > *'))
          .map(e => { const r = e.getBoundingClientRect();
                      return {x: r.x, y: r.y, w: r.width, h: r.height,
                              cls: e.className, text: e.textContent}; })"""
    )


def station_ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = page.locator("#results .result").evaluate_all(
        "els => els.map(e => e.dataset.station)"
    )
    return ids


def overlapping(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if (
                a["x"] < b["x"] + b["w"]
                and b["x"] < a["x"] + a["w"]
                and a["y"] < b["y"] + b["h"]
                and b["y"] < a["y"] + a["h"]
            ):
                pairs.append((f"{a['cls']} {a['text']}", f"{b['cls']} {b['text']}"))
    return pairs


@SIZES
def test_without_tiles_the_map_draws_country_outlines_and_says_so(page, netherlands, size) -> None:
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.2&lon=5.0&z=8")
    notice = page.locator("#map-notice")
    expect(notice).to_have_text("No map tiles here: country outlines only.")
    expect(page.locator("#map .leaflet-outlines-pane canvas")).to_be_attached()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Natural Earth")
    # The outlines are painted: the canvas holds land-coloured pixels, not only the sea.
    land = page.evaluate(
        """() => {
          const c = document.querySelector('#map .leaflet-outlines-pane canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) {
            if (d[i] === 0xf3 && d[i + 1] === 0xef && d[i + 2] === 0xe6) { n++; }
          }
          return n / (c.width * c.height);
        }"""
    )
    assert land > 0.2, f"only {land:.0%} of the map is land around Utrecht"
    screenshot(page, f"map-outlines-{size}")


@SIZES
def test_a_station_page_shows_a_pushed_status_without_a_reload(
    page, settings, charging_net: Net, size
) -> None:
    settings.LOCATOR_STATUS_POLL_SECONDS = 1
    evse = charging_net.evse(status="AVAILABLE")
    page.set_viewport_size(VIEWPORTS[size])
    page.goto(f"/stations/{evse.location_id}/")
    row = page.locator(f'.evse[data-evse-id="{evse.id}"]')
    expect(row.locator("[data-live-status]")).to_have_text("Available")
    expect(row.locator("[data-live-age]")).to_contain_text("reported just now")
    page.evaluate("window.notReloaded = true")

    charging_net.sandbox.cpo.simulator.evse_status_push(evse.uid, "OUTOFORDER")

    expect(row.locator("[data-live-status]")).to_have_text("Out of order")
    expect(row.locator("[data-live-status]")).to_have_class("status status-outoforder")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, f"station-live-{size}")


@SIZES
def test_at_zoom_8_clusters_never_overlap_and_a_lone_station_is_a_pin(
    page, netherlands, size
) -> None:
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.45&lon=5.0&z=8")
    expect(page.locator("#map .cluster").first).to_be_visible()
    lone = page.locator("#map .pin[title^='Afsluitdijk Lone Charger'], #map .pin").filter(
        has_text="150"
    )
    expect(lone.first).to_be_visible()
    page.wait_for_timeout(300)  # the last redraw after the map settled
    boxes = marker_boxes(page)
    assert len(boxes) >= 3
    assert overlapping(boxes) == []
    assert not [b for b in boxes if "cluster" in b["cls"] and b["text"] == "1"]
    # Availability reads without colour: a free pin is round, a busy one square.
    assert all(
        "pin-free" in b["cls"] or "pin-busy" in b["cls"] or "pin-unknown" in b["cls"]
        for b in boxes
        if "pin" in b["cls"].split()
    )
    screenshot(page, f"map-zoom8-{size}")


@SIZES
def test_the_list_shows_real_counts_with_pages(page, netherlands, size, client) -> None:
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.37&lon=4.90&z=11")
    bbox = page.evaluate(
        "() => new URLSearchParams(window.location.search).toString()"
    )  # the list asks for the map's bbox; its count comes from the API
    assert "z=11" in bbox
    title = page.locator("#results-title")
    expect(title).to_have_text(re.compile(r"^\d+ stations in view$"))
    total = int(title.inner_text().split()[0])
    assert total > 20  # no "(50+)" cap: the real number
    expect(page.locator("#page-info")).to_have_text(f"1{DASH}20 of {total}")
    expect(page.locator("#results .result")).to_have_count(20)
    first_page = station_ids(page)
    page.click("#page-next")
    expect(page.locator("#page-info")).to_have_text(f"21{DASH}{min(40, total)} of {total}")
    assert "page=2" in page.url
    second_page = station_ids(page)
    assert len(second_page) == min(20, total - 20)
    assert not set(first_page) & set(second_page)
    # A filter changes the count and goes back to the first page.
    page.click("#filters-toggle")
    page.check("input[name=plug][value^=IEC_62196_T2_COMBO]")
    page.click("#filters-done")
    expect(page.locator("#filters-toggle")).to_have_text("Filters (1)")
    expect(page.locator("#page-info")).not_to_contain_text(f"of {total}")
    expect(page.locator("#page-info")).to_contain_text(f"1{DASH}")
    assert "page=" not in page.url


@SIZES
def test_near_me_shows_where_you_are_and_how_far_each_station_is(
    page, netherlands, live_server, size
) -> None:
    page.set_viewport_size(VIEWPORTS[size])
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 52.3731, "longitude": 4.8926, "accuracy": 60})
    page.goto("/")
    page.click("#near-me")
    expect(page.locator("#place-message")).to_have_text("Showing stations near you.")
    expect(page.locator("#map .here")).to_be_visible()
    expect(page.locator("#map .here")).to_have_attribute("title", "You are here")
    distances = page.locator("#results .result-distance")
    expect(distances.first).to_have_text(re.compile(r"^\d+ m away$|^\d+\.\d km away$"))
    shown = [
        float(t.split()[0]) / (1000 if t.split()[1] == "m" else 1)
        for t in distances.all_inner_texts()
    ]
    assert shown == sorted(shown)  # nearest first
    screenshot(page, f"map-near-me-{size}")


def test_on_a_phone_the_map_fills_the_screen_with_a_sheet_and_a_filter_drawer(
    page, netherlands
) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/?lat=52.37&lon=4.90&z=12")
    expect(page.locator("#results .result").first).to_be_visible()
    header = page.locator(".site-header").bounding_box()
    map_box = page.locator("#map").bounding_box()
    sheet = page.locator("#sheet").bounding_box()
    assert header
    assert map_box
    assert sheet
    assert map_box["width"] == PHONE["width"]
    assert map_box["y"] == header["height"]
    assert map_box["y"] + map_box["height"] == PHONE["height"]  # the map reaches the bottom
    assert sheet["y"] + sheet["height"] == PHONE["height"]  # the sheet sits on the map
    assert sheet["height"] < PHONE["height"] * 0.4  # a peek, the map stays in sight
    expect(page.locator("#filters")).to_be_hidden()
    page.click("#sheet-toggle")
    expect(page.locator("#sheet-toggle")).to_have_text("Show the map")
    assert page.locator("#sheet").bounding_box()["height"] > PHONE["height"] * 0.6  # type: ignore[index]
    screenshot(page, "map-sheet-open-phone")
    page.click("#sheet-toggle")
    page.click("#filters-toggle")
    expect(page.locator("#filters")).to_be_visible()
    screenshot(page, "map-filters-phone")
    page.keyboard.press("Escape")
    expect(page.locator("#filters")).to_be_hidden()


@SIZES
def test_a_driver_stars_stations_and_finds_them_with_live_status(
    page, netherlands, live_server, size
) -> None:
    from django.contrib.auth import get_user_model

    from locator.models import Favourite

    driver = get_user_model().objects.create_user("fay", "fay@example.com", "a long password")
    sign_in(page, live_server, driver)
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.37&lon=4.90&z=13")
    first = page.locator("#results .result").first
    name = first.locator(".result-name").inner_text()
    station_id = int(first.get_attribute("data-station") or 0)
    first.locator(".star").click()
    expect(first.locator(".star")).to_have_attribute("aria-pressed", "true")
    assert Favourite.objects.filter(user=driver, location_id=station_id).exists()
    # The map is one screen, signed in too (four links in the header): nothing scrolls.
    assert page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    ) == [VIEWPORTS[size]["width"], VIEWPORTS[size]["height"]]
    screenshot(page, f"map-favourite-{size}")

    page.goto(f"/stations/{station_id}/")
    expect(page.locator(".favourite-form .star")).to_have_text("★ Saved")

    page.click("nav >> text=Favourites")
    row = page.locator(f'#favourites [data-station="{station_id}"]')
    expect(row.locator(".result-name")).to_have_text(name)
    expect(row.locator("[data-live-status]")).to_have_text(
        re.compile(r"^\d+ of \d+ free · reported (just now|\d+ min ago)$")
    )
    screenshot(page, f"favourites-{size}")
    row.get_by_role("button", name=re.compile("Remove")).click()
    expect(page.locator(".message")).to_have_text("Removed from your favourites.")
    expect(page.locator("#favourites .result")).to_have_count(0)


HIDE_TAB = """hidden => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


@pytest.mark.parametrize("path", ["/stations/{id}/", "/?lat=52.37&lon=4.90&z=13"])
def test_a_background_tab_asks_for_no_statuses_until_it_is_shown(
    page, netherlands, settings, path
) -> None:
    from locator.models import Location

    settings.LOCATOR_STATUS_POLL_SECONDS = 1
    station = Location.objects.filter(visible=True).order_by("id").first()
    assert station
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    page.goto(path.format(id=station.id))
    page.wait_for_timeout(2500)
    assert asked, "the page did not refresh its statuses by itself"
    page.evaluate(HIDE_TAB, True)
    page.wait_for_timeout(300)  # a request already under way may finish
    asked.clear()
    page.wait_for_timeout(3000)
    assert asked == []
    with page.expect_request(lambda r: "/api/v1/" in r.url):
        page.evaluate(HIDE_TAB, False)  # shown again: it catches up at once
