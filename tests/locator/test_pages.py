"""The map and station pages as a browser without JavaScript receives them."""

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from locator.catalogue import EvseRecord, catalogue_tariffs_upsert
from locator.models import Evse, Location
from tests.locator.conftest import SOURCE, T0, TARIFFS, connector, evse, location
from tests.payments import conftest as payments_fixtures
from tests.payments.conftest import LocalStripe, card_add

pytestmark = pytest.mark.django_db
localstripe_server = payments_fixtures.localstripe_server
localstripe = payments_fixtures.localstripe
REMOTE = ("REMOTE_START_STOP_CAPABLE", "RFID_READER")


def test_the_map_page_loads_leaflet_and_our_script_from_our_origin(client: Client) -> None:
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "vendor/leaflet/leaflet.js" in page
    assert "js/map.js" in page
    assert "tile.openstreetmap.org" in response["Content-Security-Policy"]


def test_the_tile_server_is_configurable_and_allowed_by_the_policy(
    client: Client, settings
) -> None:
    settings.LOCATOR_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    response = client.get("/")
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in response.content.decode()


def test_the_station_page_states_a_minimum_price(client: Client, put, tariffs) -> None:
    newer = dataclasses.replace(
        TARIFFS[0], last_updated=T0 + timedelta(hours=1), min_price={"excl_vat": 1.50}
    )
    catalogue_tariffs_upsert(source=SOURCE, records=[newer])
    station = put(location("P1", evses=(evse("P1-1", "AVAILABLE"),)))
    page = client.get(f"/stations/{station.id}/").content.decode()
    assert "€0.30/kWh; at least €1.50 a charge (no VAT)" in page


def test_the_station_page_reads_like_a_driver_expects(client: Client, put, tariffs) -> None:
    station = put(
        location(
            "P1",
            facilities=("CAFE",),
            evses=(evse("P1-1", "CHARGING"),),
            opening_times={
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
            },
        )
    )
    page = client.get(f"/stations/{station.id}/").content.decode()
    for text in (
        "Station P1",
        "Voltway",
        "Damrak 1",
        "In use",
        "Type 2",
        "22 kW",
        "€0.30/kWh",
        "Mon 08:00-20:00",
        "Tue closed",
        "Cafe",
        "This charge point can't be started from Plugway.",
    ):
        assert text in page, text
    assert "Charging 40 kWh now, leaving when done" in page
    assert re.search(r"<strong>€12.00</strong> <span class=\"help\">in 1 h 49 min</span>", page)
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=52.370200%2C4.895200" in page


def test_a_station_whose_charge_points_differ_in_price_says_from_and_prices_each(
    client: Client, put, tariffs
) -> None:
    station = put(
        location(
            "MIX",
            evses=(
                evse("MIX-1", "AVAILABLE", connector(kw=22, tariffs=("AC",))),
                evse("MIX-2", "AVAILABLE", connector("IEC_62196_T2_COMBO", kw=50, tariffs=("DC",))),
            ),
        )
    )
    page = client.get(f"/stations/{station.id}/", {"kwh": "20"}).content.decode()
    assert '<p class="price">From €0.30/kWh</p>' in page
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S)
    assert [(a, b, re.sub(r"<.*?>", "", c)) for a, b, c in rows] == [
        (
            "NL*PLW*EMIX-2 · 50 kW",
            "€0.49/kWh; after 1 h also €0.10/min (no VAT)",
            "€9.80 in 24 min",
        ),
        ("NL*PLW*EMIX-1 · 22 kW", "€0.30/kWh (no VAT)", "€6.00 in 55 min"),
    ]
    assert "Charging 20 kWh now" in page


def test_a_charge_size_out_of_range_is_explained_not_an_error(client: Client, put, tariffs) -> None:
    station = put(location("P2"))
    response = client.get(f"/stations/{station.id}/", {"kwh": "lots"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter an amount from 1 to 200 kWh; showing 40 kWh." in page
    assert "Charging 40 kWh now" in page


def test_a_removed_station_page_is_a_404(client: Client, put) -> None:
    station = put(location("GONE", evses=(evse("G1", "REMOVED"),)))
    assert client.get(f"/stations/{station.id}/").status_code == 404


def startable(
    uid: str, status: str = "AVAILABLE", capabilities: tuple[str, ...] = REMOTE
) -> EvseRecord:
    return dataclasses.replace(evse(uid, status), capabilities=capabilities)


@pytest.fixture
def mixed_station(put) -> Location:  # type: ignore[no-untyped-def]
    """A station from a partner that takes commands, with one EVSE of each kind."""
    return put(
        location(
            "MIX",
            remote_start=True,
            evses=(
                startable("M-FREE"),
                startable("M-BUSY", "CHARGING"),
                startable("M-BROKEN", "OUTOFORDER"),
                startable("M-DEAD", "INOPERATIVE"),
                startable("M-SOON", "PLANNED"),
                startable("M-RFID", capabilities=("RFID_READER",)),
            ),
        )
    )


def driver_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start_buttons(html: str) -> list[str]:
    """The EVSE ids (`data-start-evse`) that have a Start button on the page."""
    return re.findall(r'data-start-evse="(\d+)"', html)


def test_start_is_offered_where_the_charger_can_start_remotely_and_is_free(
    mixed_station: Location, localstripe: LocalStripe
) -> None:
    driver = get_user_model().objects.create_user(username="ana", password="a-long-password-1")
    card_add(localstripe, driver)
    html = driver_client(driver).get(f"/stations/{mixed_station.id}/").content.decode()
    ids = {e.uid: str(e.id) for e in Evse.objects.filter(location=mixed_station)}

    assert start_buttons(html) == [ids["M-FREE"]]
    assert html.count("This charge point can't be started from Plugway.") == 5
    assert "js/station-start.js" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'data-start-url="/api/v1/sessions/"' in html
    assert 'data-sessions-url="/sessions/"' in html


def test_a_station_we_cannot_send_commands_to_offers_no_start(
    put, localstripe: LocalStripe
) -> None:  # type: ignore[no-untyped-def]
    # An open feed, say: the EVSE says it takes remote starts, but not from us.
    station = put(location("FEED", remote_start=False, evses=(startable("F-1"),)))
    driver = get_user_model().objects.create_user(username="ana", password="a-long-password-1")
    card_add(localstripe, driver)

    html = driver_client(driver).get(f"/stations/{station.id}/").content.decode()

    assert start_buttons(html) == []
    assert "can't be started from Plugway" in html


def test_a_signed_out_driver_is_asked_to_sign_in_and_comes_back_to_the_station(
    mixed_station: Location,
) -> None:
    html = Client().get(f"/stations/{mixed_station.id}/").content.decode()

    assert start_buttons(html) == []
    sign_in = f'href="/accounts/login/?next=/stations/{mixed_station.id}/"'
    assert html.count(f"{sign_in}>Sign in to start charging</a>") == 1
    assert "js/station-start.js" not in html


def test_a_driver_without_a_card_is_asked_to_add_one(mixed_station: Location) -> None:
    driver = get_user_model().objects.create_user(username="ana", password="a-long-password-1")

    html = driver_client(driver).get(f"/stations/{mixed_station.id}/").content.decode()

    assert start_buttons(html) == []
    assert html.count('href="/account/payment-methods/">Add a card to start charging</a>') == 1
