"""The driver's charging pages as the server renders them: the live session page and the
history with its monthly totals. Each driver sees only their own charges."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from payments.services import hold_capture, hold_place, receipt_write, refund_issue
from roaming.models import SessionState
from tests.payments import conftest as payments_fixtures
from tests.payments.conftest import LocalStripe, card_add
from tests.roaming.sessions_data import charging_session, driver_make, samples_add, states_record

pytestmark = pytest.mark.django_db
localstripe_server = payments_fixtures.localstripe_server
localstripe = payments_fixtures.localstripe


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response: Any) -> str:
    """The page's visible words, one space between them."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def paid_session(user: Any, *, reference: str, captured: int, **fields: Any) -> Any:
    """A completed session with a real hold on localstripe, captured and with its receipt."""
    hold = hold_place(user=user, reference=reference, amount=5000, currency="eur")
    hold = hold_capture(payment=hold, amount=captured)
    receipt_write(payment=hold)
    return charging_session(user, state=SessionState.COMPLETED, payment=hold, **fields)


def test_the_live_page_shows_the_charge_so_far_without_javascript() -> None:
    driver = driver_make("ana")
    session = charging_session(
        driver,
        kwh="3.21",
        running_cost=123,
        power_kw="11.0",
        currency="EUR",
        started_at=timezone.now() - timedelta(seconds=754),
    )
    samples_add(session, minutes=12)
    states_record(session, SessionState.ACCEPTED, SessionState.ACTIVE)

    response = signed_in(driver).get(f"/sessions/{session.public_id}/")

    assert response.status_code == 200
    text = page_text(response)
    for words in (
        "Charging",
        "Utrecht Fast Hub",
        "NL*VOL*E1",
        "Voltway",
        "3.21 kWh",
        "11.0 kW",
        "Cost so far €1.23",
        "Stop charging",
        "The charger accepted the start",
        "13 readings from the charger",
    ):
        assert words in text, words
    assert re.search(r"Duration 12:3[45] min", text)  # minutes:seconds since the charger started
    html = response.content.decode()
    assert 'data-state="active"' in html
    assert "vendor/uplot/uPlot.iife.min.js" in html
    assert "js/session-live.js" in html
    assert '<meta http-equiv="refresh"' in html  # without JavaScript the page refreshes itself
    config = json.loads(re.search(r'id="session-config"[^>]*>(.*?)</script>', html, re.S)[1])  # type: ignore[index]
    assert config["api"] == f"/api/v1/sessions/{session.public_id}/"
    assert config["stop"] == f"/api/v1/sessions/{session.public_id}/stop/"
    assert config["session"]["kwh"] == 3.21
    assert len(config["session"]["samples"]) == 13
    assert [step["text"] for step in config["session"]["timeline"]] == [
        "The charger accepted the start",
        "The charger started charging",
    ]


def test_the_live_page_shows_the_hold_on_the_card(localstripe: LocalStripe) -> None:
    driver = driver_make("ana")
    card_add(localstripe, driver)
    hold = hold_place(user=driver, reference="session-hold", amount=5000, currency="eur")
    session = charging_session(driver, payment=hold)

    text = page_text(signed_in(driver).get(f"/sessions/{session.public_id}/"))

    assert "€50.00 is held on your card" in text


def test_another_driver_gets_a_404_for_a_charge_that_is_not_theirs() -> None:
    owner, other = driver_make("ana"), driver_make("ben")
    session = charging_session(owner)

    assert signed_in(other).get(f"/sessions/{session.public_id}/").status_code == 404
    assert signed_in(owner).get(f"/sessions/{session.public_id}/").status_code == 200
    # An id that is not a session of anyone's, or not an id at all, is the same 404.
    assert (
        signed_in(owner).get("/sessions/6d0f7bd4-5ab8-4bd0-9a55-2c1f1f3a3b2a/").status_code == 404
    )
    assert signed_in(owner).get("/sessions/42/").status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in() -> None:
    session = charging_session(driver_make("ana"))
    for url in (f"/sessions/{session.public_id}/", "/sessions/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_a_completed_charge_awaits_its_bill_then_links_its_receipt(
    localstripe: LocalStripe,
) -> None:
    driver = driver_make("ana")
    card_add(localstripe, driver)
    awaiting = charging_session(
        driver, state=SessionState.COMPLETED, kwh="18.5", ended_at=timezone.now()
    )
    billed = paid_session(driver, reference="session-billed", captured=1450, kwh="20")
    client = signed_in(driver)

    text = page_text(client.get(f"/sessions/{awaiting.public_id}/"))
    assert "Charge complete" in text
    assert "You charged 18.50 kWh. The operator's bill is on its way" in text
    assert "Stop charging" not in re.sub(r"<noscript>.*?</noscript>", "", text)

    html = client.get(f"/sessions/{billed.public_id}/").content.decode()
    assert f'href="/receipts/{billed.public_id}/"' in html
    assert "Your receipt is ready." in html
    assert 'http-equiv="refresh"' not in html


def test_a_charge_that_did_not_start_says_why() -> None:
    driver = driver_make("ana")
    session = charging_session(
        driver,
        state=SessionState.REJECTED,
        state_message="The charger refused to start. Nothing was charged.",
        kwh="0",
    )

    text = page_text(signed_in(driver).get(f"/sessions/{session.public_id}/"))

    assert "Refused" in text
    assert "This charge did not go ahead" in text
    assert "The charger refused to start. Nothing was charged." in text


def test_the_history_lists_only_the_drivers_own_charges_newest_first() -> None:
    ana, ben = driver_make("ana"), driver_make("ben")
    now = timezone.now()
    older = charging_session(
        ana,
        state=SessionState.COMPLETED,
        location_name="Older Hub",
        created_at=now - timedelta(hours=3),
    )
    newer = charging_session(ana, location_name="Newer Hub", created_at=now - timedelta(hours=1))
    theirs = charging_session(ben, state=SessionState.COMPLETED, location_name="Ben's Hub")

    html = signed_in(ana).get("/sessions/").content.decode()

    assert html.index(str(newer.public_id)) < html.index(str(older.public_id))
    assert str(theirs.public_id) not in html
    assert "Ben&#x27;s Hub" not in html
    assert "€1.23 so far" in html  # the live one
    assert "about €1.23, bill to come" in html  # the completed one without its bill yet


def test_the_history_totals_each_month_in_each_currency(localstripe: LocalStripe) -> None:
    driver = driver_make("ana")
    card_add(localstripe, driver)
    november = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    december = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    paid_session(driver, reference="s1", captured=1200, kwh="20.5", created_at=november)
    refunded = paid_session(
        driver, reference="s2", captured=800, kwh="10", created_at=november + timedelta(days=5)
    )
    refund_issue(payment=refunded.payment, amount=300, reason="Charger stopped early")
    charging_session(  # a Swiss charge, billed later
        driver,
        state=SessionState.COMPLETED,
        kwh="7.25",
        currency="CHF",
        created_at=november + timedelta(days=6),
    )
    charging_session(  # never started: counts for nothing
        driver,
        state=SessionState.TIMED_OUT,
        kwh="0",
        created_at=november + timedelta(days=7),
    )
    paid_session(driver, reference="s3", captured=2550, kwh="41", created_at=december)
    charging_session(driver_make("ben"), state=SessionState.COMPLETED, kwh="1", created_at=november)

    html = signed_in(driver).get("/sessions/").content.decode()

    def totals(month: str) -> str:
        block = re.search(rf'data-month="{month}">(.*?)</p>', html, re.S)
        assert block, month
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block[1])).strip()

    # 20.5 + 10 + 7.25 kWh; €12.00 + €8.00 - €3.00 refunded; the CHF charge is still unbilled.
    assert totals("2026-11") == "3 charges 37.8 kWh €17.00 1 bill to come"
    assert totals("2026-12") == "1 charge 41.0 kWh €25.50"
    assert html.index("December 2026") < html.index("November 2026")
    assert "€5.00" in html  # the refunded charge's own amount


def test_the_history_pages_through_many_charges() -> None:
    driver = driver_make("ana")
    start = timezone.now() - timedelta(days=1)
    for n in range(23):
        charging_session(
            driver,
            state=SessionState.COMPLETED,
            location_name=f"Hub {n:02d}",
            created_at=start + timedelta(minutes=n),
        )
    client = signed_in(driver)

    first = client.get("/sessions/").content.decode()
    second = client.get("/sessions/?page=2").content.decode()

    assert first.count('class="charge ') == 20
    assert "Hub 22" in first
    assert "Hub 03" in first
    assert "Hub 02" not in first
    assert second.count('class="charge ') == 3
    assert "Page 2 of 2" in second
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second
    # A page number out of range or not a number shows a page, not an error.
    assert client.get("/sessions/?page=99").status_code == 200
    assert client.get("/sessions/?page=x").status_code == 200


def test_with_no_charges_the_history_points_to_the_map() -> None:
    html = signed_in(driver_make("ana")).get("/sessions/").content.decode()
    assert "No charges yet" in html
    assert 'href="/">Find a charger</a>' in html


def test_the_navigation_offers_charging_to_signed_in_drivers_only() -> None:
    driver = driver_make("ana")
    assert ">Charging</a>" in signed_in(driver).get("/").content.decode()
    assert ">Charging</a>" not in Client().get("/").content.decode()
