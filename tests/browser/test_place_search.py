"""A driver searches a place in Chromium, on a phone and on a desktop: a postcode typed any
way, picked from the suggestions with the keyboard; an ambiguous street, picked from a choice."""

import re

import pytest
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert
from tests.browser.conftest import screenshot
from tests.locator.conftest import location

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def stations(settings) -> None:
    settings.LOCATOR_TILE_URL = "/static/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    seed = [
        ("A1", "Voltway Damrak", "Damrak 1", "1012 AB", "Amsterdam", 52.3745, 4.8975),
        ("A2", "Voltway Damrak Noord", "Damrak 70", "1012 LM", "Amsterdam", 52.3760, 4.8960),
        ("A3", "Canal Charge", "Keizersgracht 12", "1015 CS", "Amsterdam", 52.3766, 4.8870),
        ("U1", "Utrecht Hub", "Keizersgracht 3", "3511 LX", "Utrecht", 52.0930, 5.1180),
        ("H1", "Haagse Laad", "Keizersgracht 8", "2511 CV", "Den Haag", 52.0800, 4.3100),
    ]
    catalogue_locations_upsert(
        source="partner:1",
        records=[
            location(oid, name=n, address=a, postal_code=p, city=c, lat=lat, lon=lon)
            for oid, n, a, p, c, lat, lon in seed
        ],
    )


def map_centre(page) -> tuple[float, float]:
    query = page.evaluate("window.location.search")
    lat = float(re.search(r"lat=([-\d.]+)", query).group(1))
    lon = float(re.search(r"lon=([-\d.]+)", query).group(1))
    return lat, lon


@pytest.mark.parametrize("size", SIZES)
def test_a_postcode_typed_any_way_is_suggested_and_picked_by_keyboard(
    page, stations, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    page.goto("/")
    page.locator("#place").press_sequentially("1012ab", delay=40)
    suggestions = page.locator("#place-suggestions [role=option]")
    expect(suggestions.first).to_have_text(re.compile("^1012 AB Amsterdam"))
    expect(page.locator("#place")).to_have_attribute("aria-expanded", "true")
    screenshot(page, f"place-search-postcode-suggestions-{size}")
    page.keyboard.press("ArrowDown")
    expect(suggestions.first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#place-suggestions")).to_be_hidden()
    expect(page.locator("#place-message")).to_have_text("Showing 1012 AB Amsterdam")
    expect(page.locator("#results .result-name").first).to_have_text("Voltway Damrak")
    lat, lon = map_centre(page)
    assert abs(lat - 52.3745) < 0.01
    assert abs(lon - 4.8975) < 0.01
    screenshot(page, f"place-search-postcode-shown-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_an_ambiguous_street_offers_a_choice(page, stations, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    page.goto("/?lat=52.09&lon=5.12&z=12")  # looking at Utrecht
    page.locator("#place").press_sequentially("Keizersgracht", delay=20)
    expect(page.locator("#place-suggestions [role=option]")).to_have_count(3)
    page.keyboard.press("Escape")  # closes the suggestions, keeps the words
    expect(page.locator("#place-suggestions")).to_be_hidden()
    page.click("#place-form button[type=submit]")
    choices = page.locator("#place-choices .place-choice")
    expect(page.locator("#place-choices")).to_contain_text("3 places match “Keizersgracht”")
    expect(choices).to_have_count(3)
    # Nearest to the view first; the first choice has the keyboard focus.
    assert [c.split("\n")[0] for c in choices.all_inner_texts()] == [
        "Keizersgracht, Utrecht",
        "Keizersgracht, Amsterdam",
        "Keizersgracht, Den Haag",
    ]
    expect(choices.first).to_be_focused()
    screenshot(page, f"place-search-choice-{size}")
    choices.nth(1).click()
    expect(page.locator("#place-choices")).to_be_hidden()
    expect(page.locator("#place-message")).to_have_text("Showing Keizersgracht, Amsterdam")
    lat, lon = map_centre(page)
    assert abs(lat - 52.3766) < 0.01
    assert abs(lon - 4.8870) < 0.01
    expect(page.locator("#results .result-name").first).to_have_text("Canal Charge")
