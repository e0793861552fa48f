"""Our open locations feed: Plugway pulls Plugway (our own OCPI client reads the feed as an open
feed and gets every published station), and what the feed must leave out."""

from datetime import timedelta

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from locator.catalogue import catalogue_locations_upsert
from locator.models import Connector, Evse, Location
from roaming.models import Partner, PartnerState, SyncState
from roaming.senders import open_locations
from roaming.services import feed_add, partner_sync
from roaming.services.sync import catalogue_source
from tests.locator.conftest import T0, connector, evse, location

pytestmark = pytest.mark.django_db(transaction=True)

PUBLISHED = 23  # more than two pages of PAGE (below), the last one short
PAGE = 10


def partner(name: str, *, republish: bool) -> Partner:
    return Partner.objects.create(
        name=name, state=PartnerState.ACTIVE, version="2.2.1", republish=republish
    )


@pytest.fixture
def catalogue(settings: Settings, live_server, monkeypatch: pytest.MonkeyPatch) -> Partner:  # type: ignore[no-untyped-def]
    """A consenting partner's stations (some not for the public) and a non-consenting one's."""
    settings.SITE_URL = live_server.url
    monkeypatch.setattr(open_locations, "PAGE_LIMIT", PAGE)
    consenting = partner("Open CPO", republish=True)
    records = [
        location(
            f"PUB{n:02}",
            lat=52.0 + n / 100,
            when=T0 + timedelta(minutes=n),
            evses=(
                evse(f"PUB{n:02}-1", "AVAILABLE", connector("IEC_62196_T2_COMBO", 150)),
                evse(f"PUB{n:02}-2", "CHARGING", connector(), when=T0 + timedelta(minutes=n)),
            ),
        )
        for n in range(PUBLISHED)
    ]
    records += [
        location("MEMBERS", publish=False, publish_allowed_to=({"uid": "X1"},)),
        location("FLEET", publish_allowed_to=({"group_id": "FLEET"},)),
        location("UNPUBLISHED", publish=False),
    ]
    catalogue_locations_upsert(source=catalogue_source(consenting), records=records)
    private = partner("Private CPO", republish=False)
    catalogue_locations_upsert(source=catalogue_source(private), records=[location("SECRET")])
    return consenting


def test_plugway_pulls_plugway_and_gets_every_published_location(catalogue: Partner) -> None:
    feed = feed_add(
        name="Plugway open data",
        locations_url=f"{catalogue_url()}/ocpi/open/2.2.1/locations",
    )

    run = partner_sync(partner=feed, full=True)

    assert run.state == SyncState.SUCCEEDED
    assert run.warnings == []  # our own Link is one a careful client follows
    assert run.pages == 3
    ours = Location.objects.filter(source=catalogue_source(catalogue))
    pulled = Location.objects.filter(source=catalogue_source(feed))
    assert sorted(pulled.values_list("ocpi_id", flat=True)) == [
        f"PUB{n:02}" for n in range(PUBLISHED)
    ]
    for copy in pulled:
        original = ours.get(ocpi_id=copy.ocpi_id)
        for name in ("name", "address", "city", "country", "lat", "lon", "operator_name"):
            assert getattr(copy, name) == getattr(original, name), name
        assert (copy.last_updated, copy.connector_counts) == (
            original.last_updated,
            original.connector_counts,
        )
        assert evses_of(copy) == evses_of(original)
    assert copy.visible


def test_a_delta_pull_of_the_feed_gets_only_what_changed(catalogue: Partner) -> None:
    feed = feed_add(
        name="Plugway open data", locations_url=f"{catalogue_url()}/ocpi/open/2.2.1/locations"
    )
    partner_sync(partner=feed, full=True)
    later = T0 + timedelta(days=400)  # after the first pull started (the delta's date_from)
    catalogue_locations_upsert(
        source=catalogue_source(catalogue),
        records=[location("PUB03", name="Renamed", lat=52.03, when=later)],
    )
    run = partner_sync(partner=feed)
    assert run.received == 1
    assert Location.objects.get(source=catalogue_source(feed), ocpi_id="PUB03").name == "Renamed"


def test_the_feed_is_public_read_only_and_refuses_bad_filters(catalogue: Partner) -> None:
    client = Client()
    first = client.get("/ocpi/open/2.2.1/locations")
    assert first.status_code == 200
    assert first["X-Total-Count"] == str(PUBLISHED)
    assert first["X-Limit"] == str(PAGE)
    assert first["Link"].startswith(f"<{catalogue_url()}/ocpi/open/2.2.1/locations?offset=10")
    assert client.post("/ocpi/open/2.2.1/locations").status_code == 405
    bad = client.get("/ocpi/open/2.2.1/locations", {"date_from": "None"})
    assert bad.status_code == 400
    assert "date_from is not an RFC 3339 date-time" in bad.json()["status_message"]


def catalogue_url() -> str:
    from django.conf import settings

    return settings.SITE_URL


def evses_of(station: Location) -> list[tuple[str, str, list[tuple[str, float]]]]:
    return [
        (
            evse.uid,
            evse.status,
            sorted(Connector.objects.filter(evse=evse).values_list("standard", "power_kw")),
        )
        for evse in Evse.objects.filter(location=station).order_by("uid")
    ]
