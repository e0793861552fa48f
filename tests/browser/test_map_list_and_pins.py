"""The map's list and pins in Chromium at phone (390x844) and desktop (1280x800) sizes: a list
row follows a status the sandbox pushes, a star in a pin's popup reaches the favourites, a
station whose charge points are all out of order does not look busy, a status refresh redraws
only the pins that changed, and on a desktop the list sits in a sidebar beside the map."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from locator.models import Evse
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_map import DESKTOP, SIZES, UNREACHABLE_TILES, VIEWPORTS, netherlands
from tests.locator.conftest import evse, location
from tests.payments.conftest import localstripe, localstripe_server
from tests.roaming.charging import Net, charging_net, charging_net_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = [
    "charging_net",
    "charging_net_factory",
    "localstripe",
    "localstripe_server",
    "netherlands",
]


@SIZES
def test_a_list_row_shows_a_pushed_status_without_a_reload(
    page, settings, charging_net: Net, size
) -> None:
    settings.LOCATOR_STATUS_POLL_SECONDS = 1
    settings.LOCATOR_TILE_URL = UNREACHABLE_TILES
    pushed = charging_net.evse(status="AVAILABLE")
    station = pushed.location
    free = Evse.objects.filter(location=station, status="AVAILABLE").count()
    total = Evse.objects.filter(location=station).exclude(status="REMOVED").count()
    page.set_viewport_size(VIEWPORTS[size])
    page.goto(f"/?lat={station.lat}&lon={station.lon}&z=17")
    row = page.locator(f'#results .result[data-station="{station.id}"]')
    status = row.locator(".result-status")
    expect(status).to_have_text(re.compile(rf"^{free} of {total} free · reported "))
    page.evaluate("window.notReloaded = true")

    charging_net.sandbox.cpo.simulator.evse_status_push(pushed.uid, "CHARGING")

    expect(status).to_have_text(re.compile(rf"^{free - 1} of {total} free · reported just now$"))
    assert page.evaluate("window.notReloaded") is True
    if size == "phone":
        page.click("#sheet-toggle")  # the list, opened over the map
    row.scroll_into_view_if_needed()
    screenshot(page, f"map-list-live-{size}")


@SIZES
def test_a_star_in_a_pins_popup_saves_the_station_to_the_favourites(
    page, netherlands, live_server, settings, size
) -> None:
    from django.contrib.auth import get_user_model

    settings.LOCATOR_STATUS_POLL_SECONDS = 1
    driver = get_user_model().objects.create_user("pia", "pia@example.com", "a long password")
    sign_in(page, live_server, driver)
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.3728&lon=4.8936&z=16")
    expect(page.locator("#map .pin").first).to_be_visible()
    # The pin nearest the middle of the map: clear of the search box and the list.
    nearest = page.evaluate(
        """() => { const m = document.querySelector('#map').getBoundingClientRect();
          const pins = Array.from(document.querySelectorAll('#map .pin'));
          const off = e => { const r = e.getBoundingClientRect();
            return Math.hypot(r.x + r.width / 2 - (m.x + m.width / 2),
                              r.y + r.height / 2 - (m.y + m.height / 2)); };
          return pins.indexOf(pins.reduce((a, b) => off(a) <= off(b) ? a : b)); }"""
    )
    page.locator("#map .pin").nth(nearest).click()
    popup = page.locator("#map .leaflet-popup")
    name = popup.locator("a").first.inner_text()
    star = popup.locator(".star")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    # The statuses refreshing underneath (every second here) leave the popup open.
    page.wait_for_timeout(2500)
    expect(popup.locator(".star")).to_have_attribute("aria-pressed", "true")
    expect(popup.locator("a").first).to_have_text(name)
    screenshot(page, f"map-pin-star-{size}")

    page.click("nav >> text=Favourites")
    saved = page.locator("#favourites .result")
    expect(saved).to_have_count(1)
    expect(saved.locator(".result-name")).to_have_text(name)
    screenshot(page, f"favourites-from-pin-{size}")


@pytest.fixture
def broken_beside_busy(settings) -> None:  # type: ignore[no-untyped-def]
    """Two stations side by side, neither with a free charge point: one busy, one broken."""
    from locator.catalogue import catalogue_locations_upsert

    settings.LOCATOR_TILE_URL = UNREACHABLE_TILES
    now = datetime.now(UTC)

    def station(oid: str, lon: float, *statuses: str):  # type: ignore[no-untyped-def]
        evses = tuple(evse(f"{oid}{n}", s, when=now) for n, s in enumerate(statuses))
        return location(oid, name=f"Station {oid}", lat=52.37, lon=lon, when=now, evses=evses)

    catalogue_locations_upsert(
        source="partner:1",
        records=[
            station("BUSY", 4.8990, "CHARGING", "CHARGING"),
            station("BROKEN", 4.9010, "OUTOFORDER", "INOPERATIVE"),
        ],
    )


def pin_look(page, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    pin = page.locator(f'#map .pin[title^="{name}:"]')
    expect(pin).to_be_visible()
    look: dict[str, str] = pin.evaluate("e => ({title: e.title, cls: e.className})")
    return look


@SIZES
def test_a_station_with_every_charge_point_out_of_order_does_not_look_busy(
    page, broken_beside_busy, size
) -> None:
    page.set_viewport_size(VIEWPORTS[size])
    page.goto("/?lat=52.37&lon=4.90&z=16")
    busy = pin_look(page, "Station BUSY")
    broken = pin_look(page, "Station BROKEN")
    assert busy["title"] == "Station BUSY: all in use, up to 22 kW"
    assert broken["title"] == "Station BROKEN: out of order, up to 22 kW"
    assert "pin-busy" in busy["cls"]
    assert "pin-broken" in broken["cls"]
    # By shape, not colour alone: the busy pin is a square, the broken one a circle struck
    # through. Read on the live pins, retried: a list refresh may redraw a pin between finding
    # it and reading its style (a detached element has no computed style).
    busy_pin = page.locator('#map .pin[title^="Station BUSY:"]')
    broken_pin = page.locator('#map .pin[title^="Station BROKEN:"]')
    expect(busy_pin).to_have_css("border-top-left-radius", "4px")
    expect(broken_pin).to_have_css("border-top-left-radius", "50%")
    expect(busy_pin).to_have_css("background-image", "none")
    expect(broken_pin).to_have_css("background-image", re.compile(r"^linear-gradient"))
    row = page.locator("#results .result").filter(has_text="Station BROKEN")
    expect(row.locator(".result-status")).to_have_text("Out of order · reported just now")
    expect(page.locator(".map-legend .pin-broken")).to_be_visible()
    screenshot(page, f"map-out-of-order-{size}")


MARK = "e => { e.dataset.marked = 'before the refreshes'; }"


def marked_refreshes(page, api: str, focused, *elements) -> None:  # type: ignore[no-untyped-def]
    """Marks `elements` (a redrawn element is a new one, without the mark), focuses `focused`
    as a keyboard driver would by Tab, and lets the page refresh from `api` twice or more."""
    for element in elements:
        element.evaluate(MARK)
    focused.focus()
    refreshes: list[str] = []
    page.on("response", lambda r: refreshes.append(r.url) if api in r.url else None)
    page.wait_for_timeout(2500)
    assert len(refreshes) >= 2, f"the page did not refresh from {api} by itself"


def test_a_status_refresh_leaves_unchanged_pins_alone_and_restyles_a_changed_one(
    page, broken_beside_busy, settings
) -> None:
    from locator.catalogue.records import EvseStatusUpdate
    from locator.catalogue.statuses import evse_statuses_apply

    settings.LOCATOR_STATUS_POLL_SECONDS = 1
    page.set_viewport_size(DESKTOP)
    page.goto("/?lat=52.37&lon=4.90&z=16")
    busy = page.locator('#map .pin[title^="Station BUSY:"]')
    broken = page.locator('#map .pin[title^="Station BROKEN:"]')
    expect(broken).to_have_class(re.compile(r"\bpin-broken\b"))
    marked_refreshes(page, "/api/v1/map/", busy, busy, broken)
    marked = page.locator("#map .pin[data-marked]")
    expect(marked).to_have_count(2)
    expect(busy).to_be_focused()

    evse_statuses_apply(
        source="partner:1",
        updates=[
            EvseStatusUpdate("NL", "PLW", "BROKEN", "BROKEN0", "AVAILABLE", datetime.now(UTC))
        ],
    )

    # The next refresh shows the station free, on the same pin; the focus stays where it was.
    free = page.locator('#map .pin[title="Station BROKEN: free now, up to 22 kW"]')
    expect(free).to_have_class(re.compile(r"\bpin-free\b"))
    expect(free).to_have_attribute("data-marked", "before the refreshes")
    expect(marked).to_have_count(2)
    expect(busy).to_be_focused()
    page.keyboard.press("Enter")
    popup = page.locator("#map .leaflet-popup")
    expect(popup.locator("a").first).to_have_text("Station BUSY")

    evse_statuses_apply(
        source="partner:1",
        updates=[EvseStatusUpdate("NL", "PLW", "BUSY", "BUSY0", "AVAILABLE", datetime.now(UTC))],
    )

    # The open popup follows its station.
    expect(popup.locator("p").first).to_have_text(re.compile(r"^1 of 2 free · "))
    expect(busy).to_have_class(re.compile(r"\bpin-free\b"))
    screenshot(page, "map-pins-after-refreshes-desktop")


def test_a_list_refresh_keeps_the_rows_and_the_focus_and_rewrites_what_changed(
    page, broken_beside_busy, live_server, settings
) -> None:
    from django.contrib.auth import get_user_model

    from locator.catalogue import (
        EvseStatusUpdate,
        catalogue_hide_missing,
        catalogue_locations_upsert,
    )
    from locator.catalogue.statuses import evse_statuses_apply
    from locator.models import Location

    settings.LOCATOR_STATUS_POLL_SECONDS = 1
    driver = get_user_model().objects.create_user("lou", "lou@example.com", "a long password")
    sign_in(page, live_server, driver)
    page.set_viewport_size(DESKTOP)
    page.goto("/?lat=52.37&lon=4.9005&z=16")  # nearer the broken station: it is listed first
    ids = dict(Location.objects.values_list("ocpi_id", "id"))
    rows = page.locator("#results .result")
    busy = page.locator(f'#results .result[data-station="{ids["BUSY"]}"]')
    broken = page.locator(f'#results .result[data-station="{ids["BROKEN"]}"]')
    expect(broken.locator(".result-status")).to_have_text("Out of order · reported just now")
    expect(rows.first).to_have_attribute("data-station", str(ids["BROKEN"]))
    star = busy.locator(".star")
    marked_refreshes(page, "/api/v1/stations/", star, busy, broken)
    marked = page.locator("#results .result[data-marked]")
    expect(marked).to_have_count(2)
    expect(star).to_be_focused()
    page.keyboard.press("Enter")
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(star).to_have_accessible_name("Remove Station BUSY from favourites")

    evse_statuses_apply(
        source="partner:1",
        updates=[
            EvseStatusUpdate("NL", "PLW", "BROKEN", "BROKEN0", "AVAILABLE", datetime.now(UTC))
        ],
    )

    # The next refresh words the new status in the station's own row; the focus stays put.
    expect(broken.locator(".result-status")).to_have_text(
        re.compile(r"^1 of 2 free · reported just now$")
    )
    expect(broken).to_have_class(re.compile(r"\bresult-free\b"))
    expect(marked).to_have_count(2)
    expect(star).to_be_focused()

    now = datetime.now(UTC)
    moved = location(
        "BUSY",
        name="Station BUSY",
        lat=52.37,
        lon=4.9005,
        when=now,
        evses=(evse("BUSY0", "CHARGING", when=now), evse("BUSY1", "CHARGING", when=now)),
    )
    catalogue_locations_upsert(source="partner:1", records=[moved])

    # The busy station moved to the middle: its row goes first, the focus on its star stays.
    expect(rows.first).to_have_attribute("data-station", str(ids["BUSY"]))
    expect(marked).to_have_count(2)
    expect(star).to_be_focused()
    expect(star).to_have_attribute("aria-pressed", "true")
    link = broken.locator(".result-name")
    link.focus()

    catalogue_hide_missing(
        source="partner:1", seen=[("NL", "PLW", "BROKEN")], before=datetime.now(UTC)
    )

    # A station no longer listed loses its row; the other row and the focus in it stay.
    expect(busy).to_have_count(0)
    expect(page.locator("#results-title")).to_have_text("1 station in view")
    expect(rows).to_have_count(1)
    expect(broken).to_have_attribute("data-marked", "before the refreshes")
    expect(link).to_be_focused()
    screenshot(page, "map-list-after-refreshes-desktop")


def test_on_a_desktop_the_list_is_a_sidebar_beside_the_map(page, netherlands) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto("/?lat=52.37&lon=4.90&z=12")
    expect(page.locator("#results .result").first).to_be_visible()

    def box(selector: str) -> dict[str, float]:
        found = page.locator(selector).bounding_box()
        assert found, selector
        return found

    header, side, map_box = box(".site-header"), box(".finder-side"), box("#map")
    results = box("#results")
    # The sidebar on the left, the map filling the rest: side by side, both from the header
    # down to the bottom of the window.
    assert side["x"] == 0
    assert 300 <= side["width"] <= 420
    assert map_box["x"] >= side["x"] + side["width"]
    assert map_box["x"] + map_box["width"] == DESKTOP["width"]
    assert map_box["width"] > DESKTOP["width"] / 2
    for part in (side, map_box):
        assert part["y"] == header["height"]
        assert part["y"] + part["height"] == DESKTOP["height"]
    # The list is in the sidebar, not over the map; no bottom sheet toggle.
    assert results["x"] >= side["x"]
    assert results["x"] + results["width"] <= side["x"] + side["width"]
    assert results["y"] + results["height"] <= DESKTOP["height"]
    expect(page.locator("#sheet-toggle")).to_be_hidden()
    expect(page.locator("#results-title")).to_be_visible()
    screenshot(page, "map-sidebar-desktop")
