"""The map a driver trusts, in Chromium at phone (390x844) and desktop (1280x800) sizes:
a basemap without internet, pins and clusters, live statuses, favourites."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from sandbox.cities import cities_near
from sandbox.demo import demo_locations, demo_tariffs
from sandbox.stations import locations_generate
from tests.browser.conftest import screenshot
from tests.payments.conftest import localstripe, localstripe_server
from tests.roaming.charging import Net, charging_net, charging_net_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The sandbox registered with the live server, as the roaming tests have it.
__all__ = ["charging_net", "charging_net_factory", "localstripe", "localstripe_server"]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = pytest.mark.parametrize("size", ["phone", "desktop"])
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
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


@SIZES
def test_without_tiles_the_map_draws_country_outlines_and_says_so(page, netherlands, size) -> None:
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.2&lon=5.0&z=8")
    notice = page.locator("#map-notice")
    expect(notice).to_have_text("Map tiles could not be loaded; showing country outlines only.")
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
