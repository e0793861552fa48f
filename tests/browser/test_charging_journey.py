"""A driver charges end to end in Chromium (issue 13, "Done when"): from the map to the receipt,
against the sandbox CPO and localstripe on loopback (tests/roaming/charging.py).

The driver has a saved card, finds a sandbox station on the map, opens it, presses Start,
watches the live page go to Charging with the kWh rising and the chart drawn, stops, sees the
charge complete and opens the receipt. Screenshots: test-artifacts/charging-journey-*.png.
"""

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from payments.models import Payment, Receipt
from payments.money import format_money
from roaming.models import ChargeDetailRecord, ChargingSession
from roaming.services.cdrs import to_minor
from tests.browser.conftest import screenshot, sign_in
from tests.payments.conftest import localstripe, localstripe_server
from tests.roaming.charging import Net, charging_net, charging_net_factory, wait_for
from tests.roaming.test_charge_billed import flat_fee_evse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The charging network on loopback, as the roaming tests have it (tests/roaming/conftest.py).
__all__ = ["charging_net", "charging_net_factory", "localstripe", "localstripe_server"]


def fact(page: Any, label: str) -> Any:
    """The value beside `label` in the receipt's table."""
    return page.locator(f'.receipt-facts tr:has(th:text-is("{label}")) td')


def shown_kwh(page: Any) -> float:
    return float(page.locator("#session-kwh").inner_text())


def test_a_driver_charges_from_the_map_to_the_receipt(
    page: Any, live_server: Any, settings: Any, charging_net: Net
) -> None:
    settings.LOCATOR_TILE_URL = "/static/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    net = charging_net
    driver = net.driver("ana")
    evse = flat_fee_evse(net)  # a start fee: even a few seconds cost something
    station = evse.location
    label = evse.evse_id or evse.uid
    sign_in(page, live_server, driver)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The map, centred on the station: it is listed; its page offers Start on this EVSE.
    page.goto(f"/?lat={station.lat}&lon={station.lon}&z=17")
    result = page.locator("#results .result").filter(has_text=station.name).first
    expect(result).to_be_visible()
    result.locator(".result-name").click()
    expect(page.locator("h1")).to_have_text(station.name)
    page.get_by_role("button", name=f"Start charging at {label}").click()

    # The live page: starting, then charging, the energy rising, the chart drawn.
    page.wait_for_url("**/sessions/*/")
    session = ChargingSession.objects.get(user=driver)
    assert page.url.endswith(f"/sessions/{session.public_id}/")
    expect(page.locator("#session-state")).to_have_text("Charging", timeout=15_000)
    expect(page.get_by_role("button", name="Stop charging")).to_be_visible()
    expect(page.locator("#session-hold")).to_contain_text("is held on your card")
    wait_for(lambda: shown_kwh(page) > 0, timeout=15, what="kWh above 0 on the page")
    first = shown_kwh(page)
    wait_for(lambda: shown_kwh(page) > first, timeout=15, what="kWh rising on the page")
    expect(page.locator("#session-chart canvas")).to_be_visible()
    expect(page.locator("#chart-caption")).to_contain_text("from the charger")
    expect(page.locator("#session-cost")).to_contain_text("€")
    screenshot(page, "charging-journey-live")

    # Stop, confirmed in place: the charge completes and, once the CDR is billed, the receipt.
    page.get_by_role("button", name="Stop charging").click()
    page.get_by_role("button", name="Yes, stop charging").click()
    expect(page.locator("#session-state")).to_have_text("Completed", timeout=15_000)
    expect(page.locator("#outcome-h")).to_have_text("Charge complete")
    expect(page.get_by_role("button", name="Stop charging")).to_be_hidden()
    receipt_link = page.get_by_role("link", name="See your receipt")
    expect(receipt_link).to_be_visible(timeout=15_000)
    receipt_link.click()

    session.refresh_from_db()
    cdr = ChargeDetailRecord.objects.get(session=session)
    [sent] = [
        c for c in net.sandbox.cpo.simulator.cdrs if c["session_id"] == session.ocpi_session_id
    ]
    operator_total = to_minor(Decimal(str(sent["total_cost"]["incl_vat"])), "EUR")
    charged = operator_total + settings.CHARGING_FEE
    assert operator_total > 0
    page.wait_for_url(f"**/receipts/{session.public_id}/")
    expect(fact(page, "Operator")).to_have_text(station.operator_name or net.partner.name)
    expect(fact(page, "Charge point")).to_contain_text(label)
    # "Energy" labels the kWh only; the breakdown says "Price of the energy".
    expect(fact(page, "Energy")).to_have_text(f"{session.kwh:.3f} kWh")
    expect(fact(page, "Price of the energy")).to_have_count(1)
    expect(fact(page, "Operator's price incl. VAT")).to_have_text(
        format_money(operator_total, "eur")
    )
    expect(fact(page, "Plugway fee")).to_have_text(format_money(settings.CHARGING_FEE, "eur"))
    expect(fact(page, "Charged to your card")).to_have_text(format_money(charged, "eur"))
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    screenshot(page, "charging-journey-receipt")
    assert not errors

    # Behind the pages: one capture of the CDR's cost plus our fee, one receipt, the rest of
    # the hold released on the card.
    assert cdr.billing == "billed"
    assert cdr.amount == charged
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_captured) == ("captured", charged)
    assert net.localstripe.writes("/capture") == [
        f"/v1/payment_intents/{payment.stripe_payment_intent_id}/capture"
    ]
    stripe = net.localstripe.payment_intent(payment.stripe_payment_intent_id or "")
    assert stripe["status"] == "succeeded"
    assert payment.amount > charged
    assert stripe["charges"]["data"][0]["amount_refunded"] == payment.amount - charged
    assert list(Receipt.objects.values_list("payment", "amount")) == [(payment.pk, charged)]
