"""A driver's charging pages in Chromium: the live session (chart, Stop with its inline
confirmation, live updates through the session API), a finished charge, and the history.

Screenshots (phone 390x844 and desktop) go to test-artifacts/charging-*.png.
"""

import dataclasses
import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from locator.catalogue import catalogue_locations_upsert, catalogue_tariffs_upsert
from locator.models import Evse, Location
from payments.services import hold_capture, hold_place, receipt_write
from roaming.models import ChargingSession, SessionSample, SessionState
from tests.browser.conftest import DESKTOP, PHONE, screenshot, sign_in
from tests.locator.conftest import TARIFFS, connector, evse, location
from tests.payments import conftest as payments_fixtures
from tests.payments.conftest import LocalStripe, card_add
from tests.roaming import charging as charging_fixtures
from tests.roaming.charging import Net
from tests.roaming.sessions_data import charging_session, driver_make, states_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
localstripe_server = payments_fixtures.localstripe_server
localstripe = payments_fixtures.localstripe
# Charging on loopback (the sandbox CPO registered and pulled), charging-core's fixtures.
charging_net = charging_fixtures.charging_net
charging_net_factory = charging_fixtures.charging_net_factory


def dc_curve(session: ChargingSession, *, minutes: int, peak_kw: float = 48.0) -> None:
    """Readings every 30 s of a DC charge: a quick ramp, then the taper of a filling battery."""
    assert session.started_at is not None
    kwh = 0.0
    for step in range(minutes * 2 + 1):
        t = step / 2
        kw = 0.0 if step == 0 else peak_kw * min(1.0, t / 1.5) * math.exp(-max(0.0, t - 8) / 30)
        kwh += kw / 120
        SessionSample.objects.create(
            session=session,
            at=session.started_at + timedelta(seconds=30 * step),
            kwh=Decimal(f"{kwh:.4f}"),
            power_kw=Decimal(f"{kw:.3f}"),
            cost=round(kwh * 59),
        )
    ChargingSession.objects.filter(pk=session.pk).update(
        kwh=Decimal(f"{kwh:.4f}"), power_kw=Decimal(f"{kw:.3f}"), running_cost=round(kwh * 59)
    )


def live_charge(localstripe: LocalStripe, driver: Any, *, minutes: int = 24) -> ChargingSession:
    card_add(localstripe, driver)
    hold = hold_place(user=driver, reference="session-live", amount=5000, currency="eur")
    session = charging_session(
        driver,
        payment=hold,
        created_at=timezone.now() - timedelta(minutes=minutes, seconds=40),
        location_name="Utrecht Fast Hub",
        evse_label="NL*VOL*E1",
    )
    states_record(session, SessionState.ACCEPTED, SessionState.ACTIVE)
    dc_curve(session, minutes=minutes)
    return session


def test_the_live_charge_on_a_phone_and_a_desktop(
    page: Any, live_server: Any, localstripe: LocalStripe
) -> None:
    driver = driver_make("ana")
    session = live_charge(localstripe, driver)
    session.refresh_from_db()
    sign_in(page, live_server, driver)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    page.set_viewport_size(PHONE)
    page.goto(f"/sessions/{session.public_id}/")
    expect(page.locator("#session-state")).to_have_text("Charging")
    expect(page.locator("#session-kwh")).to_have_text(f"{session.kwh:.2f}")
    expect(page.locator("#session-cost")).to_have_text(f"€{session.running_cost / 100:.2f}")
    expect(page.locator("#session-hold")).to_contain_text("€50.00 is held on your card")
    expect(page.locator("#session-chart canvas")).to_be_visible()
    expect(page.locator("#chart-caption")).to_contain_text("49 readings from the charger")
    # The duration runs on by itself between two answers of the API.
    first = page.locator("#session-duration").inner_text()
    expect(page.locator("#session-duration")).not_to_have_text(first)
    screenshot(page, "charging-live-phone")

    page.get_by_role("button", name="Stop charging").click()
    expect(page.get_by_role("button", name="Yes, stop charging")).to_be_focused()
    expect(page.locator("#stop-confirm")).to_contain_text("Stop charging now?")
    screenshot(page, "charging-stop-confirm-phone")
    page.get_by_role("button", name="Keep charging").click()
    expect(page.locator("#stop-confirm")).to_be_hidden()
    expect(page.get_by_role("button", name="Stop charging")).to_be_focused()

    page.set_viewport_size(DESKTOP)
    page.reload()
    expect(page.locator("#session-chart canvas")).to_be_visible()
    screenshot(page, "charging-live-desktop")
    assert not [e for e in console_errors if "Content Security Policy" in e]


def test_a_finished_charge_and_the_history(
    page: Any, live_server: Any, localstripe: LocalStripe
) -> None:
    driver = driver_make("ana")
    card_add(localstripe, driver)
    now = timezone.now()
    for n, (kwh, cost, days) in enumerate(((32.4, 1890, 2), (18.0, 1040, 9), (41.2, 2380, 35))):
        hold = hold_place(user=driver, reference=f"session-h{n}", amount=5000, currency="eur")
        receipt_write(payment=hold_capture(payment=hold, amount=cost))
        session = charging_session(
            driver,
            state=SessionState.COMPLETED,
            payment=hold,
            kwh=str(kwh),
            running_cost=cost - 35,
            created_at=now - timedelta(days=days),
            ended_at=now - timedelta(days=days) + timedelta(minutes=40 + n * 7),
            location_name=("Utrecht Fast Hub", "Amsterdam Damrak", "Rotterdam Blaak")[n],
        )
        states_record(session, SessionState.ACCEPTED, SessionState.ACTIVE, SessionState.COMPLETED)
    dc_curve(ChargingSession.objects.filter(user=driver).first(), minutes=30)  # type: ignore[arg-type]
    charging_session(
        driver,
        state=SessionState.TIMED_OUT,
        kwh="0",
        running_cost=0,
        created_at=now - timedelta(days=3),
        started_at=None,
        state_message="The charger did not answer. Nothing was charged; the hold is released.",
        location_name="Utrecht Library",
    )
    starting = charging_session(driver, state=SessionState.REQUESTED, kwh="0", running_cost=0)
    finished = ChargingSession.objects.filter(user=driver, state=SessionState.COMPLETED).first()
    assert finished is not None
    sign_in(page, live_server, driver)

    page.set_viewport_size(PHONE)
    page.goto(f"/sessions/{starting.public_id}/")
    expect(page.locator("#session-state")).to_have_text("Starting")
    expect(page.locator("#session-hint")).to_contain_text("plug in your cable")
    expect(page.get_by_role("button", name="Stop charging")).to_be_hidden()
    screenshot(page, "charging-starting-phone")

    page.goto(f"/sessions/{finished.public_id}/")
    expect(page.locator("#session-state")).to_have_text("Completed")
    expect(page.get_by_role("link", name="See your receipt")).to_have_attribute(
        "href", f"/receipts/{finished.public_id}/"
    )
    expect(page.get_by_role("button", name="Stop charging")).to_have_count(0)
    screenshot(page, "charging-completed-phone")

    page.goto("/sessions/")
    expect(page.get_by_role("heading", name="Your charging")).to_be_visible()
    months = {(now - timedelta(days=d)).strftime("%Y-%m") for d in (0, 2, 3, 9, 35)}
    expect(page.locator(".month")).to_have_count(len(months))
    expect(page.locator(".charge")).to_have_count(5)
    expect(page.locator(".charge-timed_out")).to_contain_text("No charge")
    screenshot(page, "charging-history-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "charging-history-desktop")


def test_the_live_page_follows_the_charge_through_the_session_api(
    page: Any, live_server: Any, localstripe: LocalStripe
) -> None:
    driver = driver_make("ana")
    session = live_charge(localstripe, driver, minutes=10)
    sign_in(page, live_server, driver)
    polls: list[str] = []
    api = f"/api/v1/sessions/{session.public_id}/"
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith(api) else None)
    page.set_viewport_size(PHONE)
    page.goto(f"/sessions/{session.public_id}/")
    expect(page.locator("#session-state")).to_have_text("Charging")

    # The partner reports more energy: the page shows it without a reload.
    ChargingSession.objects.filter(pk=session.pk).update(kwh=Decimal("12.3456"), running_cost=777)
    expect(page.locator("#session-kwh")).to_have_text("12.35", timeout=8000)
    expect(page.locator("#session-cost")).to_have_text("€7.77")

    # A hidden tab asks nothing; shown again, it catches up at once.
    page.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
          Object.defineProperty(
            document, "visibilityState", { configurable: true, get: () => "hidden" }
          );
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.wait_for_timeout(1000)  # a request already under way may still be reported
    asked = len(polls)
    page.wait_for_timeout(6000)  # more than two polling intervals
    assert len(polls) == asked
    ChargingSession.objects.filter(pk=session.pk).update(kwh=Decimal("13.5"))
    page.evaluate(
        """() => {
          delete document.hidden;
          delete document.visibilityState;
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    expect(page.locator("#session-kwh")).to_have_text("13.50", timeout=3000)

    # The charge ends and is billed: the page says so, links the receipt and stops asking.
    hold = hold_capture(payment=session.payment, amount=880)  # type: ignore[arg-type]
    receipt_write(payment=hold)
    ChargingSession.objects.filter(pk=session.pk).update(
        state=SessionState.COMPLETED, ended_at=timezone.now()
    )
    expect(page.locator("#session-state")).to_have_text("Completed", timeout=8000)
    expect(page.get_by_role("link", name="See your receipt")).to_be_visible()
    expect(page.get_by_role("button", name="Stop charging")).to_be_hidden()
    screenshot(page, "charging-live-completed-phone")
    page.wait_for_timeout(1000)
    settled = len(polls)
    page.wait_for_timeout(6000)
    assert len(polls) == settled


@pytest.fixture
def startable_station() -> Location:
    catalogue_tariffs_upsert(source="partner:1", records=TARIFFS)
    evses = (
        dataclasses.replace(
            evse("S1", "AVAILABLE", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
            capabilities=("REMOTE_START_STOP_CAPABLE",),
        ),
        dataclasses.replace(
            evse("S2", "OUTOFORDER", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
            capabilities=("REMOTE_START_STOP_CAPABLE",),
        ),
    )
    record = location("START", name="Utrecht Fast Hub", remote_start=True, evses=evses)
    catalogue_locations_upsert(source="partner:1", records=[record])
    return Location.objects.get(ocpi_id="START")


# The session API's refusals (CHARGING.md), as the station page must explain them.
REFUSALS = [
    (402, {"code": "no_card", "detail": "Add a card before you start a charge."}, "Add a card"),
    (402, {"code": "card_declined", "detail": "Your card was declined."}, "Change card"),
    (
        409,
        {"code": "already_charging", "detail": "You are charging already.", "session": "S"},
        "See your charge",
    ),
    (409, {"code": "evse_unavailable", "detail": "This charge point is in use."}, None),
    (503, {"code": "partner_unavailable", "detail": "Voltway is not answering."}, None),
    (401, {"code": "not_authenticated", "detail": "Sign in to charge."}, "Sign in"),
]


def test_the_start_button_explains_each_refusal_in_place(
    page: Any, live_server: Any, localstripe: LocalStripe, startable_station: Location
) -> None:
    """The page against the API contract's error bodies (served here by Playwright, so every
    code can be shown without staging each failure); the real refusals are covered with the
    API by charging-core and end to end."""
    driver = driver_make("ana")
    card_add(localstripe, driver)
    sign_in(page, live_server, driver)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    answer: dict[str, Any] = {}
    posted: list[Any] = []

    def refuse(route: Any) -> None:
        posted.append((route.request.headers.get("x-csrftoken"), route.request.post_data_json))
        route.fulfill(status=answer["status"], json=answer["body"])

    page.route("**/api/v1/sessions/", refuse)
    page.set_viewport_size(PHONE)
    page.goto(f"/stations/{startable_station.id}/")
    evse_id = Evse.objects.get(uid="S1").id
    start = page.get_by_role("button", name="Start charging at NL*PLW*ES1")
    message = page.locator(f"#start-message-{evse_id}")
    expect(page.locator("[data-start-evse]")).to_have_count(1)  # not on the broken one
    screenshot(page, "charging-station-start-phone")

    for status, body, action in REFUSALS:
        answer.update(status=status, body=body)
        start.click()
        expect(message).to_contain_text(body["detail"])
        if action:
            expect(message.get_by_role("link", name=action)).to_be_visible()
        expect(start).to_be_enabled()
    expect(message.get_by_role("link", name="Sign in")).to_have_attribute(
        "href", f"/accounts/login/?next=/stations/{startable_station.id}/"
    )
    screenshot(page, "charging-station-refused-phone")
    token, body = posted[0]
    assert token
    assert body == {"evse": evse_id}

    # A refusal without our error body (a proxy's 502, say) still reads as a sentence.
    answer.update(status=502, body={"error": "bad gateway"})
    start.click()
    expect(message).to_have_text("The charge could not start. Try again in a minute.")

    # The bank wants to confirm the hold: the driver is taken there.
    answer.update(
        status=402,
        body={
            "code": "authentication_required",
            "detail": "Your bank wants to confirm.",
            "authenticate_url": "/account/payment-methods/?from=start",
        },
    )
    start.click()
    page.wait_for_url("**/account/payment-methods/?from=start")
    assert not dialogs


def test_a_driver_starts_and_stops_a_charge_on_the_sandbox_through_the_pages(
    page: Any, live_server: Any, charging_net: Net
) -> None:
    """The real path on loopback: the station page's Start, the live page following the
    sandbox's charge, Stop; then a start while the operator is down, refused in place."""
    net = charging_net
    driver = net.driver()
    sign_in(page, live_server, driver)
    evse = net.evse()
    page.set_viewport_size(PHONE)

    page.goto(f"/stations/{evse.location_id}/")
    page.locator(f'button[data-start-evse="{evse.pk}"]').click()
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    expect(page.locator("#session-state")).to_have_text("Charging", timeout=15_000)
    expect(page.locator("#session-kwh")).not_to_have_text("0.00", timeout=15_000)
    expect(page.locator("#session-chart canvas")).to_be_visible(timeout=15_000)
    expect(page.locator("#session-hold")).to_contain_text("is held on your card")
    screenshot(page, "charging-sandbox-live-phone")

    page.get_by_role("button", name="Stop charging").click()
    page.get_by_role("button", name="Yes, stop charging").click()
    expect(page.locator("#session-state")).to_have_text("Completed", timeout=15_000)
    expect(page.locator("#session-outcome")).to_contain_text("Charge complete")
    expect(page.get_by_role("button", name="Stop charging")).to_be_hidden()
    screenshot(page, "charging-sandbox-completed-phone")
    session = ChargingSession.objects.get(user=driver)
    assert session.state == SessionState.COMPLETED
    assert page.url.endswith(f"/sessions/{session.public_id}/")

    other = net.evse(exclude=(evse.pk,))
    net.partner_down()
    page.goto(f"/stations/{other.location_id}/")
    start = page.locator(f'button[data-start-evse="{other.pk}"]')
    start.click()
    message = page.locator(f"#start-message-{other.pk}")
    expect(message).to_have_class(re.compile("start-message-error"), timeout=15_000)
    assert message.inner_text().strip()
    expect(start).to_be_enabled()
    assert f"/stations/{other.location_id}/" in page.url
    screenshot(page, "charging-sandbox-partner-down-phone")
