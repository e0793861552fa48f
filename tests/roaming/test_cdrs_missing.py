"""A CDR that never arrives: looked for on the partner's CDRs sender (the sandbox CPO on
loopback, registered with us through a live server), billed if found, else flagged to an
admin."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from locator.models import Tariff
from payments.models import Payment
from roaming.models import ChargeDetailRecord, OutboundCall, Partner, SessionState
from roaming.ocpi.transport import ocpi_datetime_parse
from roaming.services import partner_register
from roaming.services.cdrs import cdrs_missing_find
from roaming.services.sync import catalogue_source
from tests.roaming.billing import (
    ENERGY_TARIFF,
    LocalStripe,
    cdr_payload,
    driver_make,
    minor,
    session_make,
)
from tests.sandbox.fixtures import SandboxHandle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(
    live_server: Any, settings: Settings, sandbox_cpo_factory: Callable[..., SandboxHandle]
) -> tuple[SandboxHandle, Partner]:
    settings.SITE_URL = live_server.url
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01
    settings.CHARGING_CDR_WAIT = timedelta(minutes=60)
    handle = sandbox_cpo_factory(stations=3)
    partner = partner_register(
        name="Sandbox", versions_url=handle.versions_url, token_a=handle.token_a
    )
    Tariff.objects.create(
        source=catalogue_source(partner),
        country_code="NL",
        party_id="SBX",
        ocpi_id="AC-ENERGY",
        currency="EUR",
        elements=ENERGY_TARIFF,
        last_updated=timezone.now(),
    )
    return handle, partner


def ended_session(
    localstripe: LocalStripe, partner: Partner, *, ended_ago: timedelta, driver: str = "driver"
) -> Any:
    driver = driver_make(localstripe, driver)
    ended = timezone.now() - ended_ago
    return session_make(
        user=driver,
        partner=partner,
        state=SessionState.COMPLETED,
        started_at=ended - timedelta(minutes=45),
        ended_at=ended,
    )


def on_the_sender(handle: SandboxHandle, payload: dict[str, Any]) -> None:
    """The CPO has the CDR (its POST to us was lost): it is on its CDRs sender."""
    handle.cpo.simulator.cdrs.append(
        {**payload, "last_updated": ocpi_datetime_parse(payload["last_updated"])}
    )


def test_missing_cdr_is_fetched_from_the_partners_sender_and_billed(
    sandbox: tuple[SandboxHandle, Partner], localstripe: LocalStripe
) -> None:
    handle, partner = sandbox
    session = ended_session(localstripe, partner, ended_ago=timedelta(hours=2))
    payload = cdr_payload(session, kwh="12")
    on_the_sender(handle, payload)
    stranger = cdr_payload(session, id="CDR-OTHER-EMSP")
    stranger["cdr_token"] = {**stranger["cdr_token"], "party_id": "TMS"}
    on_the_sender(handle, stranger)

    assert cdrs_missing_find() == 0

    cdr = ChargeDetailRecord.objects.get()
    assert (cdr.cdr_id, cdr.session_id, cdr.billing) == (payload["id"], session.pk, "billed")
    payment = Payment.objects.get(pk=session.payment_id)
    assert payment.amount_captured == minor("12") + cdr.fee
    fetch = OutboundCall.objects.get(partner=partner, module="cdrs")
    assert "date_from=" in fetch.url
    session.refresh_from_db()
    assert session.needs_attention == ""


def test_cdr_not_on_the_sender_either_is_flagged_to_an_admin(
    sandbox: tuple[SandboxHandle, Partner], localstripe: LocalStripe
) -> None:
    _, partner = sandbox
    late = ended_session(localstripe, partner, ended_ago=timedelta(hours=2))
    recent = ended_session(localstripe, partner, ended_ago=timedelta(minutes=5), driver="other")

    assert cdrs_missing_find() == 1

    late.refresh_from_db()
    recent.refresh_from_db()
    assert "has none for it" in late.needs_attention
    assert recent.needs_attention == ""  # still within CHARGING_CDR_WAIT
    assert any(e.cause.startswith("Flagged to an admin") for e in late.events.all())
    assert Payment.objects.get(pk=late.payment_id).status == Payment.Status.REQUIRES_CAPTURE
    # Flagged once: the next sweep leaves it to the admin.
    assert cdrs_missing_find() == 0


def test_partner_sender_unreachable_still_flags_the_session(
    sandbox: tuple[SandboxHandle, Partner], localstripe: LocalStripe
) -> None:
    handle, partner = sandbox
    session = ended_session(localstripe, partner, ended_ago=timedelta(hours=3))
    handle.cpo.stop()

    assert cdrs_missing_find() == 1

    session.refresh_from_db()
    assert "could not be read" in session.needs_attention
