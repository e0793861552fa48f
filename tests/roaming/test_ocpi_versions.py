"""Each OCPI version we speak (2.1.1, 2.2.1, 2.3.0) against the sandbox CPO speaking it: a
status push shows within a second, and a CPO we invited registers with us and is then pulled
and pushes to us (register-and-pull and charging are parametrized in test_sync,
test_sessions_flow and test_charge_billed)."""

import time
from collections.abc import Callable

import pytest
from django.urls import reverse
from pytest_django.fixtures import Settings

from locator.models import Evse, Location
from roaming.models import Partner, PartnerState, SyncState
from roaming.services import partner_invite, partner_sync
from roaming.services.sync import catalogue_source
from tests.sandbox.fixtures import OCPI_VERSIONS, SandboxHandle

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS),
]


def status_push_seen_after(sandbox: SandboxHandle, partner: Partner) -> float:
    """Seconds from the sandbox changing an EVSE's status (and pushing it) to our catalogue
    showing it."""
    evse = Evse.objects.filter(location__source=catalogue_source(partner)).first()
    assert evse is not None
    status = "OUTOFORDER" if evse.status != "OUTOFORDER" else "AVAILABLE"
    started = time.monotonic()
    sandbox.cpo.simulator.evse_status_push(evse.uid, status)
    while time.monotonic() - started < 5:
        if Evse.objects.filter(pk=evse.pk, status=status).exists():
            return time.monotonic() - started
        time.sleep(0.02)
    pytest.fail(f"the {status} push of EVSE {evse.uid} never showed")


def test_a_status_push_shows_within_a_second(
    registered: tuple[SandboxHandle, Partner], sandbox_ocpi_version: str
) -> None:
    sandbox, partner = registered
    assert partner.version == sandbox_ocpi_version
    assert partner_sync(partner=partner, full=True).state == SyncState.SUCCEEDED
    assert status_push_seen_after(sandbox, partner) < 1.0


def test_a_cpo_we_invited_registers_in_its_version_then_is_pulled_and_pushes(
    live_server,  # type: ignore[no-untyped-def]
    settings: Settings,
    sandbox_cpo_factory: Callable[..., SandboxHandle],
    sandbox_ocpi_version: str,
) -> None:
    settings.SITE_URL = live_server.url
    sandbox = sandbox_cpo_factory(stations=20)
    partner, token_a = partner_invite(name="Sandbox")

    sandbox.cpo.desk.register_with(f"{live_server.url}{reverse('ocpi-versions')}", token_a)

    partner.refresh_from_db()
    assert partner.state == PartnerState.ACTIVE
    assert partner.version == sandbox_ocpi_version
    assert partner.raw_token_header == (sandbox_ocpi_version == "2.1.1")
    assert list(partner.roles.values_list("country_code", "party_id")) == [("NL", "SBX")]
    registration = sandbox.cpo.desk.registration
    assert registration is not None
    assert registration.token_b
    assert f"/ocpi/{sandbox_ocpi_version}/locations" in registration.endpoints["locations"]

    assert partner_sync(partner=partner, full=True).state == SyncState.SUCCEEDED
    pulled = Location.objects.filter(source=catalogue_source(partner))
    assert set(pulled.values_list("ocpi_id", flat=True)) == set(sandbox.cpo.catalogue.locations)
    assert status_push_seen_after(sandbox, partner) < 1.0
