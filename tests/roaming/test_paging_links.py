"""A partner whose `Link` header cannot be followed (as one independent OCPI library's CPO
sends it): the pull pages by offset on the module URL instead, warns, and gets everything."""

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from locator.models import Location
from roaming.models import SyncState
from roaming.services import feed_add, partner_sync
from roaming.services.sync import catalogue_source
from tests.conftest import with_authenticator
from tests.roaming.peers import Reply, ScriptedPeer, SeenRequest, ocpi_body, scripted_peer

pytestmark = pytest.mark.django_db(transaction=True)

TOTAL = 23  # not a multiple of the page size, so the last page is short
PAGE = 5  # the CPO's own limit, whatever we ask
PATH = "/ocpi/cpo/2.2.1/locations"
EXAMPLE = json.loads(
    (Path(__file__).parent / "ocpi_examples_221" / "location_example.json").read_text()
)


def location(n: int) -> dict[str, object]:
    wire = copy.deepcopy(EXAMPLE)
    wire["id"] = f"LOC{n:03}"
    wire["evses"][0]["uid"] = f"EVSE{n:03}"
    return wire


# Each way of breaking the next-page Link: a function of (the peer's URL, the next offset).
BROKEN_LINKS: dict[str, Callable[[str, int], str]] = {
    "https on a plain-http server": lambda url, offset: (
        f"{url.replace('http://', 'https://')}{PATH}?offset={offset}&limit={PAGE}"
    ),
    "mangled path": lambda url, offset: (
        f"{url}/ocpi/cpo/2.2.1/ModuleID.LOCATIONS?offset={offset}&limit={PAGE}"
    ),
    "date_from=None": lambda url, offset: (
        f"{url}{PATH}?date_from=None&date_to=None&offset={offset}&limit={PAGE}"
    ),
    "another host": lambda url, offset: (
        f"http://localhost:{urlsplit(url).port}{PATH}?offset={offset}&limit={PAGE}"
    ),
    "all at once": lambda url, offset: (
        f"https://localhost/ocpi/cpo/2.2.1/ModuleID.LOCATIONS?date_from=None&offset={offset}"
    ),
}


def loopback_cpo(peer: ScriptedPeer, broken_link: Callable[[str, int], str]) -> None:
    """Serves TOTAL locations PAGE at a time by offset, with X-Total-Count and X-Limit, and a
    broken Link to the next page. Anything but the module's path is answered 404."""

    def reply(request: SeenRequest) -> Reply:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        offset = int(query.get("offset", 0))
        page = [location(n) for n in range(offset, min(offset + PAGE, TOTAL))]
        headers = {"X-Total-Count": str(TOTAL), "X-Limit": str(PAGE)}
        if offset + PAGE < TOTAL:
            headers["Link"] = f'<{broken_link(peer.url, offset + PAGE)}>; rel="next"'
        return 200, headers, ocpi_body(page)

    peer.routes[PATH] = reply


@pytest.fixture
def peer(settings: Settings) -> Iterator[ScriptedPeer]:
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01
    with scripted_peer() as running:
        yield running


@pytest.mark.parametrize("broken", list(BROKEN_LINKS), ids=list(BROKEN_LINKS))
def test_a_broken_link_is_not_followed_and_the_pull_gets_every_location(
    peer: ScriptedPeer, broken: str
) -> None:
    loopback_cpo(peer, BROKEN_LINKS[broken])
    feed = feed_add(name="Library CPO", locations_url=f"{peer.url}{PATH}")

    run = partner_sync(partner=feed, full=True)

    assert run.state == SyncState.SUCCEEDED
    stored = Location.objects.filter(source=catalogue_source(feed), visible=True)
    assert sorted(stored.values_list("ocpi_id", flat=True)) == [f"LOC{n:03}" for n in range(TOTAL)]
    # Every request stayed on the module's own path, and none carried a mangled filter.
    assert {urlsplit(seen.path).path for seen in peer.seen} == {PATH}
    assert not any("None" in seen.path for seen in peer.seen)
    assert len(peer.seen) == -(-TOTAL // PAGE)
    assert len(run.warnings) == 1
    assert "was not followed" in run.warnings[0]

    staff = with_authenticator(
        User.objects.create_superuser("ops@example.com", "ops@example.com", "x" * 12)
    )
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/roaming/partner/health/").content.decode()
    assert "Warning: locations: the partner&#x27;s next-page Link" in page


def test_a_delta_pull_whose_link_drops_date_from_keeps_it(peer: ScriptedPeer) -> None:
    loopback_cpo(peer, lambda url, offset: f"{url}{PATH}?offset={offset}&limit={PAGE}")
    feed = feed_add(name="Library CPO", locations_url=f"{peer.url}{PATH}")
    partner_sync(partner=feed, full=True)
    peer.seen.clear()

    run = partner_sync(partner=feed)  # a delta: date_from is the last pull's start

    assert run.state == SyncState.SUCCEEDED
    assert run.received == TOTAL
    assert all("date_from=" in seen.path for seen in peer.seen)
    assert "drops date_from" in run.warnings[0]


def test_a_sound_link_is_followed_without_a_warning(peer: ScriptedPeer) -> None:
    loopback_cpo(peer, lambda url, offset: f"{url}{PATH}?offset={offset}&limit={PAGE}")
    feed = feed_add(name="Library CPO", locations_url=f"{peer.url}{PATH}")
    run = partner_sync(partner=feed, full=True)
    assert run.received == TOTAL
    assert run.warnings == []
    assert all(f"limit={PAGE}" in seen.path for seen in peer.seen[1:])  # the CPO's own Links
