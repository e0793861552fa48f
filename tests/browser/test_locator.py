"""A driver finds a charger in Chromium: map, search, filters, list, station page, comment."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.locator.conftest import TARIFFS, connector, evse, location

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalogue(settings) -> None:
    # No tile server here: a blank tile keeps the page quiet instead of waiting on the network.
    settings.LOCATOR_TILE_URL = "/static/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    # These records are dated T0, a fixed past day: count their statuses as fresh.
    settings.LOCATOR_STATUS_MAX_AGE_MINUTES = 10**7
    catalogue_tariffs_upsert(source="partner:1", records=TARIFFS)
    records = [
        location(
            "UT-CCS",
            name="Utrecht Fast Hub",
            city="Utrecht",
            lat=52.0907,
            lon=5.1214,
            evses=(
                evse("UC1", "AVAILABLE", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
                evse("UC2", "CHARGING", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
            ),
        ),
        location("UT-AC", name="Utrecht Library Type 2", city="Utrecht", lat=52.0930, lon=5.1180),
        location(
            "UT-BUSY",
            name="Utrecht Busy CCS",
            city="Utrecht",
            lat=52.0880,
            lon=5.1250,
            evses=(evse("UB1", "CHARGING", connector("IEC_62196_T2_COMBO", 50, tariffs=("DC",))),),
        ),
        location("AMS", name="Amsterdam Damrak", city="Amsterdam", lat=52.3760, lon=4.8970),
    ]
    catalogue_locations_upsert(source="partner:1", records=records)


def result_names(page) -> list[str]:
    return page.locator("#results .result-name").all_inner_texts()


def test_driver_searches_a_city_filters_and_reads_a_station(page, catalogue) -> None:
    page.goto("/")
    expect(page.locator("#map .leaflet-tile-pane")).to_be_attached()
    page.fill("#place", "Utrecht")
    page.click("#place-form button[type=submit]")
    expect(page.locator("#place-message")).to_have_text("Showing Utrecht")
    expect(page.locator("#results .result")).to_have_count(3)
    screenshot(page, "locator-map-desktop")

    page.click("#filters-toggle")  # the filters live in a drawer
    page.check("input[name=plug][value^=IEC_62196_T2_COMBO]")
    page.check("input[name=available]")
    page.click("#filters-done")
    expect(page.locator("#results .result")).to_have_count(1)
    assert result_names(page) == ["Utrecht Fast Hub"]
    assert "available=true" in page.url
    assert re.search(r"plug=IEC_62196_T2_COMBO", page.url)

    page.go_back()  # the back button undoes the last filter
    expect(page.locator("input[name=available]")).not_to_be_checked()
    expect(page.locator("#results .result")).to_have_count(2)

    page.click("text=Utrecht Fast Hub")
    expect(page.locator("h1")).to_have_text("Utrecht Fast Hub")
    evses = page.locator(".evse")
    expect(evses).to_have_count(2)
    expect(evses.first).to_contain_text("Available")
    expect(evses.first).to_contain_text("CCS")
    expect(evses.nth(1)).to_contain_text("In use")
    expect(page.locator(".price")).to_have_text("€0.49/kWh; after 1 h also €0.10/min (no VAT)")
    screenshot(page, "locator-station-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "locator-station-phone")


def test_the_map_on_a_phone_shows_the_search_on_top_and_the_list_in_a_bottom_sheet(
    page, catalogue
) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/?lat=52.0907&lon=5.1214&z=14")
    expect(page.locator("#results .result")).to_have_count(3)
    map_box = page.locator("#map").bounding_box()
    list_box = page.locator("#results").bounding_box()
    search_box = page.locator("#place").bounding_box()
    assert search_box
    assert map_box
    assert list_box
    # Phone first (issue 14): the map fills the screen, the search floats at its top and the
    # list is a sheet over its lower part.
    assert search_box["y"] < map_box["y"] + 100
    assert list_box["y"] > map_box["y"] + map_box["height"] / 2
    screenshot(page, "locator-map-phone")
    page.set_viewport_size(DESKTOP)


def test_zoomed_out_the_map_draws_clusters(page, catalogue) -> None:
    page.goto("/?lat=51&lon=8&z=5")
    expect(page.locator(".cluster").first).to_be_visible()
    expect(page.locator("#results-title")).to_have_text("Zoom in to list stations")


def test_a_signed_in_driver_posts_a_comment(page, catalogue, live_server) -> None:
    from locator.models import Location

    user = get_user_model().objects.create_user(
        "dana", "dana@example.com", "a long enough password"
    )
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    station = Location.objects.get(ocpi_id="UT-CCS")
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "dana@example.com")
    page.fill("input[name=password]", "a long enough password")
    page.click("form button[type=submit]")
    page.goto(f"/stations/{station.id}/")
    page.fill("textarea[name=text]", "Both chargers worked <b>fine</b>")
    page.select_option("select[name=rating]", "5")
    page.select_option("select[name=outcome]", "charged")
    page.click("text=Post comment")
    comment = page.locator(".comment").first
    expect(comment).to_contain_text("Both chargers worked <b>fine</b>")
    expect(comment).to_contain_text("Charged fine")
    expect(comment).not_to_contain_text("dana@example.com")  # other drivers never see e-mails
    expect(page.locator(".station-head")).to_contain_text("★ 5.0")
    screenshot(page, "locator-comment-desktop")


def test_near_me_centres_the_map_on_the_driver(page, catalogue, live_server) -> None:
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 52.3760, "longitude": 4.8970})
    page.goto("/")
    page.click("#near-me")
    expect(page.locator("#place-message")).to_have_text("Showing stations near you.")
    expect(page.locator("#results .result-name")).to_have_text(["Amsterdam Damrak"])
    assert "z=14" in page.url
