"""The site in the driver's language: chosen from the browser or the footer's switch, every
catalogue complete, numbers and money written the way the language writes them."""

import dataclasses
import importlib
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from django.apps import apps as django_apps
from django.conf import settings
from django.test import Client
from django.utils import translation

from locator import pricing
from locator.catalogue import catalogue_tariffs_upsert
from locator.models import Tariff
from payments.money import format_money
from tests.conftest import ROOT
from tests.locator import conftest as catalogue_fixtures
from tests.locator.conftest import connector, evse, location

put = catalogue_fixtures.put
tariffs = catalogue_fixtures.tariffs

LOCALE = ROOT / "locale"
# A station's charge points at two prices (the fixture `tariffs`: AC €0.30/kWh, DC more).
AC_AND_DC = (
    evse("TD1-1", "AVAILABLE", connector(kw=22, tariffs=("AC",))),
    evse("TD1-2", "AVAILABLE", connector("IEC_62196_T2_COMBO", 50, tariffs=("DC",))),
)
AC_ONLY = (evse("TD1-1", "AVAILABLE", connector(kw=22, tariffs=("AC",))),)
LIST_AT_50_8 = "/api/v1/stations/?lat=50&lon=8&radius_km=1"
CATALOGUES = [
    pytest.param(language, domain, id=f"{language}-{domain}")
    for language, _name in settings.LANGUAGES
    if language != settings.LANGUAGE_CODE
    for domain in ("django", "djangojs")
]


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """The pages read the compiled catalogues, which `scripts/dev.py install` makes."""
    for po in LOCALE.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            pytest.fail(
                f"{mo} is missing or older than its .po: run python3 scripts/dev.py install"
            )


@pytest.fixture(autouse=True)
def default_language_after() -> Iterator[None]:
    """A page request leaves its language active in the test's thread (LocaleMiddleware
    activates it, nothing deactivates it): the next test starts from the default again."""
    yield
    translation.deactivate()


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_every_catalogue_translates_every_message(language: str, domain: str) -> None:
    with (LOCALE / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    messages = [message for message in catalogue if message.id]
    assert messages
    for message in messages:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
    # Placeholders the translation drops or invents (what Babel refuses to compile).
    assert [(message.id, errors) for message, errors in catalogue.check()] == []


# Words of the station page below, as each language writes them ("\u00a0": a no-break space),
# and a word of the scripts' catalogue.
STATION_PAGE_WORDS = {
    "de": (
        "Zurück zur Karte",
        "Ladepunkte",
        "Belegt",  # the charge point's status
        "Typ 2",
        "Öffnungszeiten",
        "Mo 08:00-20:00",
        "Di geschlossen",
        "Bahnhof",
        "Dieser Ladepunkt kann nicht über Plugway gestartet werden.",
        "Jetzt 40 kWh laden und danach wegfahren",
    ),
    "fr": (
        "Retour à la carte",
        "Points de charge",
        "Occupé",
        "Type 2",
        "Horaires d\u2019ouverture",
        "lun. 08:00-20:00",
        "mar. fermé",
        "Gare",
        "Ce point de charge ne peut pas être lancé depuis Plugway.",
        "Recharger 40\u00a0kWh maintenant et repartir aussitôt",
    ),
    "nl": (
        "Terug naar de kaart",
        "Laadpunten",
        "In gebruik",
        "Openingstijden",
        "ma 08:00-20:00",
        "di gesloten",
        "Treinstation",
        "Dit laadpunt kan niet via Plugway worden gestart.",
        "Nu 40 kWh laden en daarna wegrijden",
    ),
}
SCRIPT_WORDS = {
    "de": "Ladestationen im Kartenausschnitt",
    "fr": "bornes visibles",
    "nl": "laadlocaties in beeld",
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", STATION_PAGE_WORDS)
def test_a_browser_gets_the_station_page_in_its_language(
    client: Client, put, tariffs, language: str
) -> None:
    station = put(
        location(
            "LG1",
            facilities=("TRAIN_STATION",),
            evses=(evse("LG1-1", "CHARGING"),),
            opening_times={
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
            },
        )
    )
    browser_asks = f"{language}-{language.upper()},{language};q=0.9,en;q=0.5"  # de-DE, fr-FR
    response = client.get(f"/stations/{station.id}/", HTTP_ACCEPT_LANGUAGE=browser_asks)
    page = response.content.decode()
    assert response["Content-Language"] == language
    assert f'<html lang="{language}">' in page
    for text in STATION_PAGE_WORDS[language]:
        assert text in page, text
    assert "Back to the map" not in page
    # The scripts' strings come from the language's catalogue too, before the scripts run.
    script = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert SCRIPT_WORDS[language] in script
    assert page.index('src="/jsi18n/"') < page.index("js/station-live.js")


@pytest.mark.django_db
def test_a_browser_asking_for_no_language_of_ours_gets_english(client: Client) -> None:
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<html lang="en">' in page
    assert "Stations in view" in page


@pytest.mark.django_db
def test_the_footer_switch_changes_the_language_and_keeps_the_page(put, tariffs) -> None:
    station = put(location("SW1"))
    client = Client(enforce_csrf_checks=True)
    here = f"/stations/{station.id}/?kwh=30"
    page = client.get(here, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    form = re.search(
        r'<form class="language-form" action="([^"]+)" method="post">(.*?)</form>', page, re.S
    )
    assert form is not None
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form[2]))
    assert fields["next"] == here
    assert re.search(r'<option value="de" lang="de">Deutsch</option>', form[2])

    response = client.post(form[1], {**fields, "language": "de"})

    assert response.status_code == 302
    assert response["Location"] == here
    # The choice sticks, whatever the browser asks for.
    page = client.get(here, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in page
    assert "Jetzt 30 kWh laden und danach wegfahren" in page
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page


@pytest.mark.django_db
def test_a_tariff_and_its_estimate_read_in_german_with_german_numbers(
    client: Client, put, tariffs
) -> None:
    station = put(location("TD1", evses=AC_AND_DC))
    page = client.get(f"/stations/{station.id}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Ab 0,30 €/kWh" in page  # the headline where charge points differ
    assert "0,49 €/kWh; nach 1 Std. zusätzlich 0,10 €/Min. (ohne MwSt.)" in page
    assert re.search(
        r"<strong>12,00 €</strong> <span class=\"help\">in 1 Std. 49 Min.</span>", page
    )
    assert re.search(r"<strong>19,60 €</strong>", page)
    # The English page still reads as before, from the same rows.
    english = client.get(f"/stations/{station.id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "€0.49/kWh; after 1 h also €0.10/min (no VAT)" in english
    assert "<strong>€12.00</strong>" in english


@pytest.mark.django_db
def test_the_station_list_prices_in_german_in_two_queries(
    client: Client, put, tariffs, django_assert_num_queries
) -> None:
    put(location("TD1", lat=50.0, lon=8.0, evses=AC_AND_DC))
    put(location("TD2", lat=50.001, lon=8.0, evses=AC_AND_DC[1:]))  # DC only
    with django_assert_num_queries(2):  # the stations, then the words of their tariffs
        listed = client.get(LIST_AT_50_8, HTTP_ACCEPT_LANGUAGE="de").json()
    assert [station["price"] for station in listed] == [
        "Ab 0,30 €/kWh",
        "0,49 €/kWh; nach 1 Std. zusätzlich 0,10 €/Min. (ohne MwSt.)",
    ]
    english = client.get(LIST_AT_50_8).json()
    assert [station["price"] for station in english] == [
        "From €0.30/kWh",
        "€0.49/kWh; after 1 h also €0.10/min (no VAT)",
    ]


@pytest.mark.django_db
def test_a_changed_tariff_reads_anew_in_every_language(client: Client, put, tariffs) -> None:
    put(location("TD1", lat=50.0, lon=8.0, evses=AC_ONLY))
    dearer = dataclasses.replace(
        catalogue_fixtures.TARIFFS[0],
        last_updated=catalogue_fixtures.TARIFFS[0].last_updated + timedelta(minutes=1),
        elements=({"price_components": [{"type": "ENERGY", "price": 0.45, "step_size": 1}]},),
    )
    catalogue_tariffs_upsert(source=catalogue_fixtures.SOURCE, records=[dearer])
    prices = {
        language: client.get(LIST_AT_50_8, HTTP_ACCEPT_LANGUAGE=language).json()[0]["price"]
        for language in ("en", "de", "fr", "nl")
    }
    assert prices == {
        "en": "€0.45/kWh (no VAT)",
        "de": "0,45 €/kWh (ohne MwSt.)",
        "fr": "0,45\xa0€/kWh (sans TVA)",
        "nl": "€0,45/kWh (zonder btw)",
    }


def test_money_is_written_as_each_language_writes_it() -> None:
    assert format_money(123450, "eur") == "€1,234.50"
    assert format_money(500, "jpy") == "¥500"
    with translation.override("de"):
        assert format_money(123450, "eur") == "1.234,50 €"
        assert format_money(123450, "sek") == "1.234,50 SEK"
        assert format_money(5000, "chf") == "50,00 CHF"
    # French puts the sign after the number too, kept on its line by a no-break space.
    with translation.override("fr"):
        assert format_money(123450, "eur") == "1\u00a0234,50\u00a0€"
        assert format_money(5000, "chf") == "50,00\u00a0CHF"


def test_a_tariff_with_vat_tiers_and_days_reads_in_german() -> None:
    elements = [
        {
            "price_components": [{"type": "ENERGY", "price": 0.25, "vat": 19.0, "step_size": 1}],
            "restrictions": {"max_kwh": 20.5},
        },
        {"price_components": [{"type": "ENERGY", "price": 0.35, "vat": 19.0, "step_size": 1}]},
        {
            "price_components": [{"type": "PARKING_TIME", "price": 6.0, "vat": 19.0}],
            "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"], "start_time": "08:00"},
        },
    ]
    with translation.override("de"):
        words = pricing.describe(elements, "EUR", max_price={"excl_vat": 30})
    assert words == (
        "0,30 €/kWh für die ersten 20,5 kWh, danach 0,42 €/kWh; "
        "0,12 €/Min. Parkgebühr am Wochenende ab 08:00 Uhr; "
        "höchstens 35,70 € pro Ladevorgang (inkl. 19 % MwSt.)"
    )
    assert pricing.describe(elements, "EUR", max_price={"excl_vat": 30}) == (
        "€0.30/kWh for the first 20.5 kWh, then €0.42/kWh; "
        "€0.12/min parking at weekends from 08:00; "
        "at most €35.70 a charge (incl. 19% VAT)"
    )


@pytest.mark.django_db
def test_tariffs_held_before_their_words_were_kept_list_in_every_language(client, put) -> None:  # type: ignore[no-untyped-def]
    """Locator migration 0015 words the tariffs already held, as a write would."""
    put(location("OLD", lat=50.0, lon=8.0, evses=AC_ONLY))
    Tariff.objects.create(  # as a tariff written before migration 0015 was stored
        source=catalogue_fixtures.SOURCE,
        country_code="NL",
        party_id="PLW",
        ocpi_id="AC",
        currency="EUR",
        elements=[{"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]}],
        summary="€0.30/kWh (no VAT)",
        last_updated=catalogue_fixtures.T0,
    )
    words_write = importlib.import_module(
        "locator.migrations.0015_tariff_words_in_every_language"
    ).words_write
    words_write(django_apps, None)

    tariff = Tariff.objects.get(ocpi_id="AC")
    assert tariff.lowest_energy_price == Decimal("0.30")
    listed = client.get(LIST_AT_50_8, HTTP_ACCEPT_LANGUAGE="de").json()
    assert listed[0]["price"] == "0,30 €/kWh (ohne MwSt.)"
