"""A driver whose browser asks for German reads the map and a station page in German, the
scripts' words and numbers too, in Chromium on a phone and on a desktop."""

import re

import pytest
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from locator.models import Location
from tests.browser.conftest import screenshot
from tests.locator.conftest import TARIFFS, connector, evse, location

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
HERE = {"latitude": 52.0907, "longitude": 5.1214}


@pytest.fixture
def german(browser, live_server):  # type: ignore[no-untyped-def]
    """A page in a browser set to German, sharing a position near Utrecht's stations."""
    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", geolocation=HERE, permissions=["geolocation"]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def stations(settings) -> Location:
    settings.LOCATOR_TILE_URL = "/static/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    settings.LOCATOR_STATUS_MAX_AGE_MINUTES = 10**7  # records dated T0 count as fresh
    catalogue_tariffs_upsert(source="partner:1", records=TARIFFS)
    catalogue_locations_upsert(
        source="partner:1",
        records=[
            location(
                "UT-MIX",
                name="Utrecht Bahnhof",
                city="Utrecht",
                lat=52.0907,
                lon=5.1214,
                evses=(
                    evse("UM1", "AVAILABLE", connector(kw=22, tariffs=("AC",))),
                    evse("UM2", "CHARGING", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
                ),
            ),
            location("UT-N", name="Utrecht Noord", city="Utrecht", lat=52.1020, lon=5.1214),
        ],
    )
    return Location.objects.get(ocpi_id="UT-MIX")


@pytest.mark.parametrize("size", SIZES)
def test_the_map_reads_in_german(german, stations, size: str) -> None:
    page = german
    page.set_viewport_size(SIZES[size])
    page.goto("/?lat=52.0960&lon=5.1214&z=14")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#results-title")).to_have_text("2 Ladestationen im Kartenausschnitt")
    expect(page.locator("#sheet-toggle")).to_have_text("2 Ladestationen auflisten")
    expect(page.locator("#results .result-plugs").first).to_contain_text("bis 150 kW")
    page.get_by_role("button", name="In meiner Nähe").click()
    expect(page.locator("#place-message")).to_have_text("Ladestationen in Ihrer Nähe.")
    # Distances with a decimal comma: Utrecht Noord is 1.26 km north of here.
    distances = page.locator("#results .result-distance")
    expect(distances.filter(has_text=re.compile(r"^1,3 km entfernt$"))).to_have_count(1)
    expect(distances.filter(has_text=re.compile(r"^0 m entfernt$"))).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    screenshot(page, f"languages-map-de-{size}")
    # The map fills the screen: the switch sits under the list (on a phone, once it is open).
    if size == "phone":
        page.locator("#sheet-toggle").click()
    switch = page.locator("#language-select")
    expect(switch).to_have_value("de")
    button = page.get_by_role("button", name="Sprache wechseln").bounding_box()
    side = page.locator("#sheet").bounding_box()
    assert button
    assert side
    assert button["x"] + button["width"] <= side["x"] + side["width"]  # inside the list's column
    switch.select_option("en")
    page.get_by_role("button", name="Sprache wechseln").click()
    # Back at the same view ("Near me" moved it there from 52.0960), now in English.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/\?lat=52\.090[67]\d&lon=5\.121[34]\d&z=14$"))
    expect(page.locator("#results-title")).to_have_text("2 stations in view")


@pytest.mark.parametrize("size", SIZES)
def test_a_station_page_reads_in_german(german, stations, size: str) -> None:
    page = german
    page.set_viewport_size(SIZES[size])
    page.goto(f"/stations/{stations.id}/")
    expect(page.locator("h1")).to_have_text(re.compile("Utrecht Bahnhof"))
    expect(page.locator(".price")).to_have_text("Ab 0,30 €/kWh")
    expect(page.locator("#live-available")).to_have_text("1 von 2 verfügbar")
    expect(page.locator(".estimates tbody tr").first).to_contain_text(
        "0,49 €/kWh; nach 1 Std. zusätzlich 0,10 €/Min. (ohne MwSt.)"
    )
    expect(page.locator(".evse .status").first).to_have_text("Verfügbar")
    expect(page.get_by_text("Zurück zur Karte")).to_be_visible()
    expect(page.locator(".connectors").first).to_contain_text("Steckdose")
    # Longer German words still fit the phone: nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    screenshot(page, f"languages-station-de-{size}")
