"""Onboarding from the admin: add a partner (with a clear error for each failed handshake),
invite one, add an open feed, unregister; and what staff without the permission get."""

import logging
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from pytest_django.fixtures import Settings

from config.models import PendingTask
from config.outbox import pending_tasks_relay
from locator.models import Location
from roaming.crypto import token_hash
from roaming.models import Partner, PartnerKind, PartnerState, SyncState
from roaming.services import partner_sync
from roaming.services.sync import catalogue_source
from tests.conftest import CeleryWorker, RedisServer, with_authenticator
from tests.roaming.charging import closed_port_url
from tests.roaming.peers import ScriptedPeer, ocpi_body, scripted_peer
from tests.sandbox.fixtures import OCPI_VERSIONS, SandboxHandle

pytestmark = pytest.mark.django_db(transaction=True)


def staff(*permissions: str) -> Client:
    user = with_authenticator(
        User.objects.create_user("ops", "ops@example.com", "x" * 12, is_staff=True)
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(
        with_authenticator(User.objects.create_superuser("root", "root@example.com", "x" * 12))
    )
    return client


@pytest.fixture
def peer(settings: Settings) -> Iterator[ScriptedPeer]:
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01
    settings.OUTBOUND_GET_ATTEMPTS = 1
    with scripted_peer() as running:
        yield running


def connect(client: Client, versions_url: str, token: str, name: str = "Sandbox CPO") -> str:
    response = client.post(
        "/admin/roaming/partner/add/",
        {"name": name, "versions_url": versions_url, "token_a": token},
        follow=True,
    )
    return response.content.decode()


def error_of(page: str) -> str:
    match = re.search(r'<div class="errornote onboarding-error" role="alert">(.*?)</div>', page)
    assert match, page[:2000]
    return match.group(1)


@pytest.fixture
def sandbox_for_us(
    live_server,  # type: ignore[no-untyped-def]
    settings: Settings,
    sandbox_cpo_factory: Callable[..., SandboxHandle],
) -> Callable[[int], SandboxHandle]:
    """Start a sandbox CPO with this many stations, able to call our live server back."""
    settings.SITE_URL = live_server.url
    return lambda stations: sandbox_cpo_factory(stations=stations)


def test_add_registers_with_the_partner_and_pulls_its_stations(
    admin_client: Client, sandbox_for_us: Callable[[int], SandboxHandle]
) -> None:
    sandbox = sandbox_for_us(12)
    form = admin_client.get("/admin/roaming/partner/add/").content.decode()
    assert "Versions URL" in form
    assert "Token A" in form
    assert "exchanging credentials" in form  # the progress message the page shows on submit

    page = connect(admin_client, sandbox.versions_url, sandbox.token_a)

    assert "Registered with Sandbox CPO: OCPI 2.2.1" in page
    assert "A full pull of its stations is queued." in page
    partner = Partner.objects.get(name="Sandbox CPO")
    assert partner.state == PartnerState.ACTIVE
    pulled = Location.objects.filter(source=catalogue_source(partner), visible=True)
    assert pulled.count() == 12  # eager here: the pull ran at once


@pytest.mark.worker
def test_add_with_redis_down_connects_and_the_pull_runs_once_redis_is_back(
    admin_client: Client,
    sandbox_for_us: Callable[[int], SandboxHandle],
    worker_database: None,
    own_broker: RedisServer,
    celery_worker: CeleryWorker,
    default_queue: None,
) -> None:
    """Issue 16: the first pull was sent to Celery inside the request, so with the broker down
    the admin waited out Celery's publish retries and got a 500. Now it goes through the outbox:
    the partner is added, and a real worker pulls once beat's relay finds the broker back."""
    sandbox = sandbox_for_us(12)
    own_broker.stop()

    page = connect(admin_client, sandbox.versions_url, sandbox.token_a)

    assert "Registered with Sandbox CPO: OCPI 2.2.1" in page
    assert "A full pull of its stations is queued." in page
    partner = Partner.objects.get(name="Sandbox CPO")
    queued = PendingTask.objects.get(task="roaming.tasks.partner_sync_task")
    assert (queued.args, queued.sent_at) == ([partner.pk, True], None)
    assert "Connection refused" in queued.last_error

    own_broker.start()
    deadline = time.monotonic() + 60
    while not pending_tasks_relay() and time.monotonic() < deadline:
        time.sleep(0.5)
    pulled = Location.objects.filter(source=catalogue_source(partner), visible=True)
    while pulled.count() < 12 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pulled.count() == 12


def test_each_failed_handshake_says_what_to_check(
    admin_client: Client,
    peer: ScriptedPeer,
    sandbox_cpo_factory: Callable[..., SandboxHandle],
) -> None:
    sandbox = sandbox_cpo_factory(stations=1)
    unreachable = error_of(connect(admin_client, closed_port_url(), "t"))
    assert unreachable.startswith("Unreachable: nothing answered")

    refused = error_of(connect(admin_client, sandbox.versions_url, "not-the-token"))
    assert refused.startswith("Refused token: the partner did not accept token A")

    peer.routes["/versions"] = lambda request: (
        200,
        {},
        ocpi_body([{"version": "2.0", "url": f"{peer.url}/2.0"}]),
    )
    no_version = error_of(connect(admin_client, f"{peer.url}/versions", "t"))
    assert no_version.startswith("No mutual version")
    assert "the partner offers 2.0" in no_version

    peer.routes["/index.html"] = lambda request: (200, {}, b"<html>Welcome</html>")
    not_ocpi = error_of(connect(admin_client, f"{peer.url}/index.html", "t"))
    assert not_ocpi.startswith("Not OCPI: the address answered")

    assert not Partner.objects.filter(state=PartnerState.ACTIVE).exists()


def test_invite_shows_our_versions_url_and_a_one_time_token(
    admin_client: Client, settings: Settings
) -> None:
    settings.SITE_URL = "https://plugway.example"
    page = admin_client.post("/admin/roaming/partner/invite/", {"name": "Hub"}).content.decode()
    assert '<code id="versions-url">https://plugway.example/ocpi/versions</code>' in page
    token = re.search(r'<code id="token-a">([^<]+)</code>', page)
    assert token
    partner = Partner.objects.get(name="Hub")
    assert partner.inbound_token_hash == token_hash(token.group(1))
    assert partner.state == PartnerState.INVITED
    assert page.count('class="button copy-button"') == 2
    assert "shown only now" in page
    Partner.objects.filter(pk=partner.pk).update(state=PartnerState.ACTIVE)
    again = admin_client.post("/admin/roaming/partner/invite/", {"name": "Hub"})
    assert again.status_code == 400
    assert "Hub is connected already" in again.content.decode()
    assert Partner.objects.get(name="Hub").inbound_token_hash == token_hash(token.group(1))


def test_add_an_open_feed(admin_client: Client, peer: ScriptedPeer) -> None:
    peer.routes["/locations"] = lambda request: (200, {}, ocpi_body([]))
    response = admin_client.post(
        "/admin/roaming/partner/feed/",
        {
            "name": "Open feed",
            "locations_url": f"{peer.url}/locations",
            "header": "Authorization: Token abc",
        },
        follow=True,
    )
    assert "Added the open feed Open feed." in response.content.decode()
    feed = Partner.objects.get(name="Open feed")
    assert (feed.kind, feed.feed_header_name, feed.feed_header_value) == (
        PartnerKind.FEED,
        "Authorization",
        "Token abc",
    )
    assert peer.seen[0].headers["Authorization"] == "Token abc"  # pulled at once
    bad = admin_client.post(
        "/admin/roaming/partner/feed/",
        {"name": "Bad", "locations_url": f"{peer.url}/x", "header": "no colon"},
    )
    assert bad.status_code == 400
    assert "the header must look like" in bad.content.decode()


def test_unregister_tells_the_partner_and_forgets_its_tokens(
    admin_client: Client, sandbox_for_us: Callable[[int], SandboxHandle]
) -> None:
    sandbox = sandbox_for_us(2)
    connect(admin_client, sandbox.versions_url, sandbox.token_a)
    partner = Partner.objects.get(name="Sandbox CPO")
    response = admin_client.post(
        "/admin/roaming/partner/",
        {"action": "unregister", "_selected_action": [partner.pk]},
        follow=True,
    )
    assert "Sandbox CPO: unregistered." in response.content.decode()
    partner.refresh_from_db()
    assert (partner.state, partner.inbound_token_hash) == (PartnerState.UNREGISTERED, None)
    assert partner.calls.filter(method="DELETE", http_status=200).exists()


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_rotate_credentials_retires_both_old_tokens_and_pulls_go_on(
    admin_client: Client, sandbox_for_us: Callable[[int], SandboxHandle]
) -> None:
    sandbox = sandbox_for_us(3)
    connect(admin_client, sandbox.versions_url, sandbox.token_a)
    partner = Partner.objects.get(name="Sandbox CPO")
    desk, dialect = sandbox.cpo.desk, sandbox.cpo.catalogue.dialect
    assert desk.registration is not None
    # Ours: the token we call the CPO with; theirs: the token it calls us with.
    old_ours, old_theirs = partner.outbound_token, desk.registration.token_b

    response = admin_client.post(
        "/admin/roaming/partner/",
        {"action": "rotate_credentials", "_selected_action": [partner.pk]},
        follow=True,
    )

    assert "Sandbox CPO: new tokens exchanged." in response.content.decode()
    partner.refresh_from_db()
    new_ours, new_theirs = partner.outbound_token, desk.registration.token_b
    assert new_ours == desk.registration.token_c
    assert (new_ours != old_ours, new_theirs != old_theirs) == (True, True)

    def status(url: str, token: str) -> int:
        return httpx.get(url, headers=dialect.request_headers(token)).status_code

    locations = partner.endpoint("locations", "SENDER")
    assert (status(locations, old_ours), status(locations, new_ours)) == (401, 200)
    our_versions = desk.registration.versions_url
    assert (status(our_versions, old_theirs), status(our_versions, new_theirs)) == (401, 200)
    Location.objects.filter(source=catalogue_source(partner)).delete()
    run = partner_sync(partner=partner, full=True)
    assert (run.state, run.error) == (SyncState.SUCCEEDED, "")
    assert Location.objects.filter(source=catalogue_source(partner), visible=True).count() == 3


def test_staff_without_the_permission_get_a_403_page_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    viewer = staff("view_partner")
    with caplog.at_level(logging.WARNING):
        for url in (
            "/admin/roaming/partner/add/",
            "/admin/roaming/partner/invite/",
            "/admin/roaming/partner/feed/",
        ):
            response = viewer.get(url)
            assert response.status_code == 403
            assert "Your account may not do this" in response.content.decode()
        assert staff_without_view().get("/admin/roaming/partner/").status_code == 403
    assert caplog.records
    assert all(record.exc_info is None for record in caplog.records)
    listing = viewer.get("/admin/roaming/partner/").content.decode()
    assert "Add a roaming partner" not in listing
    assert 'value="unregister"' not in listing  # no actions without the change permission


def staff_without_view() -> Client:
    user = with_authenticator(
        User.objects.create_user("nobody", "nobody@example.com", "x" * 12, is_staff=True)
    )
    client = Client()
    client.force_login(user)
    return client
