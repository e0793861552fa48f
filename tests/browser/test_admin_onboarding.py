"""An operations admin onboards a roaming partner from the admin in Chromium, against a live
sandbox CPO, and its stations appear on the map."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from locator.models import Location
from roaming.models import Partner, PartnerState
from roaming.services.sync import catalogue_source
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import with_authenticator
from tests.sandbox.fixtures import SandboxHandle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_onboards_a_partner_and_its_stations_show_on_the_map(
    page,  # type: ignore[no-untyped-def]
    live_server,
    settings,
    sandbox_cpo_factory: Callable[..., SandboxHandle],
) -> None:
    settings.SITE_URL = live_server.url  # the sandbox calls our versions back here
    settings.LOCATOR_TILE_URL = "/static/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    sandbox = sandbox_cpo_factory(stations=30)
    sign_in(page, live_server, staff_member())

    page.goto("/admin/roaming/partner/")
    page.click("text=Add a roaming partner")
    page.fill("input[name=name]", "Sandbox CPO")
    page.fill("input[name=versions_url]", sandbox.versions_url)
    page.fill("input[name=token_a]", "wrong-token")
    page.click("input[type=submit]")
    expect(page.locator(".onboarding-error")).to_contain_text("Refused token")
    screenshot(page, "admin-onboarding-refused-token")

    page.fill("input[name=token_a]", sandbox.token_a)
    screenshot(page, "admin-onboarding-form")
    # The submit handler's work, seen before the POST goes (Chromium paints nothing while a
    # navigation is pending): a submit event as the button sends it, then the real submit.
    progress = page.evaluate(
        "() => { const form = document.querySelector('form.onboarding-form');"
        " form.dispatchEvent(new Event('submit', {cancelable: true}));"
        " const note = form.querySelector('.onboarding-progress');"
        " return [note.hidden, note.textContent,"
        " form.querySelector('input[type=submit]').disabled]; }"
    )
    assert progress[0] is False
    assert progress[1].startswith("Connecting: reading the partner's versions")
    assert progress[2] is True  # no second click while it runs
    screenshot(page, "admin-onboarding-progress")
    page.evaluate("() => document.querySelector('form.onboarding-form').submit()")
    expect(page.locator(".messagelist")).to_contain_text("Registered with Sandbox CPO: OCPI 2.2.1")
    screenshot(page, "admin-onboarding-registered")

    partner = Partner.objects.get(name="Sandbox CPO")
    assert partner.state == PartnerState.ACTIVE
    stations = Location.objects.filter(source=catalogue_source(partner), visible=True)
    assert stations.count() == 30
    first = stations.order_by("id").first()
    assert first is not None
    page.goto(f"/?lat={first.lat}&lon={first.lon}&z=13")
    expect(page.locator("#results .result").first).to_be_visible()
    names = page.locator("#results .result-name").all_inner_texts()
    assert (first.name or first.address) in names
    expect(page.locator("#map .pin, #map .cluster").first).to_be_visible()  # on the map
    export = page.locator("#export-geojson")
    expect(export).to_be_visible()
    assert "/api/v1/stations.geojson?bbox=" in (export.get_attribute("href") or "")
    screenshot(page, "admin-onboarding-map")


def test_admin_invites_a_partner_and_copies_the_values(page, live_server, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, staff_member())
    page.goto("/admin/roaming/partner/")
    page.click("text=Invite a partner")
    page.fill("input[name=name]", "Example Hub")
    page.click("input[type=submit]")
    expect(page.locator("#versions-url")).to_have_text(f"{live_server.url}/ocpi/versions")
    token = page.locator("#token-a").inner_text()
    page.click("button[data-copy=token-a]")
    expect(page.locator("button[data-copy=token-a]")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    screenshot(page, "admin-onboarding-invited")
    assert Partner.objects.get(name="Example Hub").state == PartnerState.INVITED


def staff_member() -> User:
    """A superuser as the admin admits one (with an authenticator app)."""
    return with_authenticator(User.objects.create_superuser("ops", "ops@example.com", "x" * 12))
