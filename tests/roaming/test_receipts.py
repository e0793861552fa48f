"""The driver's receipt of a charge: the page, the PDF and the email say what was charged and
why; nobody but the driver sees them."""

import re
import zlib
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from locator.models import Tariff
from payments.models import Receipt
from roaming.models import ChargingSession, Partner, SessionState
from tests.roaming.billing import (
    LocalStripe,
    Ocpi,
    cdr_payload,
    cpo_partner,
    driver_make,
    session_billed,
    session_make,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed(
    client: Client, localstripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> ChargingSession:
    return session_billed(client, localstripe, django_capture_on_commit_callbacks)


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the PDF's pages. fpdf2 deflates each page's content stream and puts
    it on lines of its own between "stream" and "endstream"; the deflated bytes may themselves
    end in a carriage return, so only the newline is the separator."""
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.DOTALL)
    return "".join(zlib.decompress(s).decode("cp1252") for s in streams if s.startswith(b"x"))


def test_driver_sees_every_fact_of_the_charge_on_the_receipt_page(
    client: Client, billed: ChargingSession
) -> None:
    client.force_login(billed.user)
    response = client.get(f"/receipts/{billed.public_id}/")

    assert response.status_code == 200
    page = response.content.decode()
    receipt = Receipt.objects.get()
    for fact in (
        receipt.number,
        "Sandbox CPO",  # operator
        "Marktplein",  # location
        "Marktplein 1, Utrecht",
        "NL*SBX*E1",  # EVSE
        "10.000 kWh",
        "€0.47/kWh",  # the tariff in plain words (incl. VAT)
        "Energy",  # the operator's breakdown
        "€4.72",  # operator's price incl. VAT
        "€0.82",  # of which VAT
        "€0.35",  # our fee
        "€5.07",  # charged
        "Visa •••• 4242",
        "CDR-",  # the operator's reference
    ):
        assert fact in page, fact
    assert f'href="/receipts/{billed.public_id}.pdf"' in page


def test_receipt_pdf_has_the_same_facts(client: Client, billed: ChargingSession) -> None:
    client.force_login(billed.user)
    response = client.get(f"/receipts/{billed.public_id}.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    number = Receipt.objects.get().number
    assert f'filename="plugway-receipt-{number}.pdf"' in response["Content-Disposition"]
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert f"/Title (Plugway receipt {number})".encode() in pdf
    text = pdf_text(pdf)
    for fact in (number, "Sandbox CPO", "NL*SBX*E1", "10.000 kWh", "€5.07", "€0.35", "4242"):
        assert fact in text, fact


def test_receipt_email_says_the_same_and_links_the_page(billed: ChargingSession) -> None:
    [email] = mail.outbox
    html = email.alternatives[0][0]
    for fact in ("€5.07", "€0.35", "€4.72", "NL*SBX*E1", "Visa •••• 4242"):
        assert fact in email.body
        assert fact in html
    assert f"/receipts/{billed.public_id}/" in html


@pytest.fixture
def voltly(settings: Any) -> None:
    settings.SITE_NAME = "Voltly"


def test_the_site_name_comes_from_settings_on_the_receipt_and_its_email(
    voltly: None, client: Client, billed: ChargingSession
) -> None:
    [email] = mail.outbox
    html = email.alternatives[0][0]
    number = Receipt.objects.get().number
    assert email.subject == f"Your Voltly receipt {number}"
    for text in (email.body, html):
        assert "Thank you for charging with Voltly." in text
        assert "Plugway" not in text
    assert "Voltly fee: €0.35" in email.body
    assert '<th scope="row">Voltly fee</th><td>€0.35</td>' in html
    client.force_login(billed.user)
    page = client.get(f"/receipts/{billed.public_id}/").content.decode()
    assert '<th scope="row">Voltly fee</th><td>€0.35</td>' in page
    pdf = client.get(f"/receipts/{billed.public_id}.pdf").content
    assert f"/Title (Voltly receipt {number})".encode() in pdf
    assert "Voltly fee" in pdf_text(pdf)


def test_another_driver_gets_a_404_for_the_receipt_and_its_pdf(
    client: Client, billed: ChargingSession, localstripe: LocalStripe
) -> None:
    client.force_login(driver_make(localstripe, "other"))
    assert client.get(f"/receipts/{billed.public_id}/").status_code == 404
    assert client.get(f"/receipts/{billed.public_id}.pdf").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, billed: ChargingSession) -> None:
    response = client.get(f"/receipts/{billed.public_id}.pdf")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_charge_not_billed_yet_has_no_receipt(client: Client, localstripe: LocalStripe) -> None:
    driver = driver_make(localstripe)
    session = session_make(user=driver, partner=cpo_partner(), state=SessionState.COMPLETED)
    client.force_login(driver)
    assert client.get(f"/receipts/{session.public_id}/").status_code == 404
    assert client.get("/receipts/not-a-uuid/").status_code == 404


def test_names_from_the_operator_are_escaped(client: Client, billed: ChargingSession) -> None:
    ChargingSession.objects.filter(pk=billed.pk).update(location_name="<script>alert(1)</script>")
    client.force_login(billed.user)
    page = client.get(f"/receipts/{billed.public_id}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_short_charge_at_a_minimum_price_reads_plainly_on_the_receipt(
    client: Client, localstripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:
    """40 seconds, 0.1 kWh, on a tariff with a minimum price: the receipt gives the duration in
    seconds (not "0 min"), names the energy once, and states the minimum in the tariff."""
    partner: Partner = cpo_partner()
    Tariff.objects.filter(ocpi_id="AC-ENERGY").update(
        min_price={"excl_vat": 2.00, "incl_vat": 2.42}
    )
    driver = driver_make(localstripe)
    started = timezone.now() - timedelta(minutes=5)
    session = session_make(
        user=driver,
        partner=partner,
        state=SessionState.COMPLETED,
        started_at=started,
        ended_at=started + timedelta(seconds=40),
    )
    cdr = cdr_payload(session, kwh="0.1")
    cdr["total_cost"] = {"excl_vat": 2.00, "incl_vat": 2.42}  # the minimum, as the CPO bills it
    Ocpi(client, django_capture_on_commit_callbacks).post_cdr(cdr)
    client.force_login(driver)

    page = client.get(f"/receipts/{session.public_id}/").content.decode()
    assert "€0.47/kWh; at least €2.42 a charge" in page
    assert "(40 s)" in page
    assert "0 min" not in page
    assert page.count('<th scope="row">Energy</th>') == 1
    assert '<th scope="row">Price of the energy</th>' in page
    assert "€2.77" in page  # €2.42 + our €0.35
    pdf = pdf_text(client.get(f"/receipts/{session.public_id}.pdf").content)
    assert "at least €2.42 a charge" in pdf
    assert "40 s" in pdf


def test_a_german_driver_gets_the_receipt_email_in_german(
    client: Client, localstripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:
    partner: Partner = cpo_partner()
    session = session_make(
        user=driver_make(localstripe), partner=partner, state=SessionState.COMPLETED
    )
    ChargingSession.objects.filter(pk=session.pk).update(language="de")  # pressed Start in German

    Ocpi(client, django_capture_on_commit_callbacks).post_cdr(cdr_payload(session, kwh="10"))

    [email] = mail.outbox
    assert email.subject.startswith("Ihr Plugway-Beleg ")
    html = email.alternatives[0][0]
    for text in ("Danke, dass Sie mit Plugway geladen haben.", "Plugway-Gebühr: 0,35 €", "5,07 €"):
        assert text in email.body, text
    assert "Preis des Betreibers inkl. MwSt." in html
    assert '<html lang="de">' in html
