"""A driver reads a station's price in plain words, and sizes the charge to price, in Chromium
on a phone and on a desktop."""

import pytest
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from locator.models import Location
from tests.browser.conftest import screenshot
from tests.locator.conftest import TARIFFS, connector, evse, location

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.mark.parametrize("size", SIZES)
def test_a_station_with_two_prices_reads_in_plain_words(page, size: str) -> None:
    catalogue_tariffs_upsert(source="partner:1", records=TARIFFS)
    catalogue_locations_upsert(
        source="partner:1",
        records=[
            location(
                "MIX",
                name="Damrak Mixed Hub",
                evses=(
                    evse("M1", "AVAILABLE", connector(kw=22, tariffs=("AC",))),
                    evse("M2", "AVAILABLE", connector("IEC_62196_T2_COMBO", 50, tariffs=("DC",))),
                ),
            )
        ],
    )
    station = Location.objects.get(ocpi_id="MIX")
    page.set_viewport_size(SIZES[size])
    page.goto(f"/stations/{station.id}/")
    expect(page.locator(".price")).to_have_text("From €0.30/kWh")
    rows = page.locator(".estimates tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("€0.49/kWh; after 1 h also €0.10/min (no VAT)")
    expect(rows.nth(0)).to_contain_text("€19.60")  # 40 kWh at 50 kW: 48 min, no time fee
    expect(rows.nth(1)).to_contain_text("€12.00")  # 40 kWh at 22 kW
    page.get_by_label("Energy to charge (kWh)").fill("60")
    page.get_by_role("button", name="Work out the cost").click()
    expect(page.locator(".estimates caption")).to_have_text(
        "Charging 60 kWh now, leaving when done"
    )
    # 60 kWh at 50 kW takes 72 min: 12 min of the €0.10/min fee after the first hour.
    expect(rows.nth(0)).to_contain_text("€30.60")
    expect(rows.nth(0)).to_contain_text("in 1 h 12 min")
    page.locator("#price-h").scroll_into_view_if_needed()
    screenshot(page, f"station-price-{size}")
