"""Registering with the sandbox CPO and pulling its catalogue, end to end over real HTTP."""

import copy
import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import billiard
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from locator.models import Connector, Evse, Location, Tariff
from roaming.errors import PartnerError
from roaming.models import OutboundCall, Partner, PartnerState, SyncKind, SyncRun, SyncState
from roaming.ocpi.transport import authorization_header
from roaming.services import feed_add, partner_register, partner_sync, sync
from roaming.services.sync import catalogue_source, read_ahead
from sandbox.charge import now_utc
from tests.roaming.registered import as_time
from tests.sandbox.fixtures import OCPI_VERSIONS, SandboxHandle

pytestmark = pytest.mark.django_db(transaction=True)


def assert_locations_mirror(partner: Partner, wire_locations: dict[str, Any], *, old: bool) -> None:
    """Our stored stations are the partner's (the sandbox's 2.2.1 objects), field by field;
    `old`: OCPI 2.1.1, which cannot say a connector's power or more than one tariff."""
    stored = {loc.ocpi_id: loc for loc in Location.objects.filter(source=catalogue_source(partner))}
    assert set(stored) == set(wire_locations)
    for ocpi_id, wire in wire_locations.items():
        row = stored[ocpi_id]
        assert (row.name, row.address, row.city, row.postal_code or None, row.country) == (
            wire.get("name"),
            wire["address"],
            wire["city"],
            wire.get("postal_code"),
            wire["country"],
        )
        assert (row.lat, row.lon) == (
            float(wire["coordinates"]["latitude"]),
            float(wire["coordinates"]["longitude"]),
        )
        assert row.time_zone == wire["time_zone"]
        assert row.facilities == wire.get("facilities", [])
        assert row.opening_times == wire.get("opening_times")
        assert row.last_updated == as_time(wire["last_updated"])
        evses = {evse.uid: evse for evse in Evse.objects.filter(location=row)}
        assert set(evses) == {evse["uid"] for evse in wire["evses"]}
        for wire_evse in wire["evses"]:
            evse = evses[wire_evse["uid"]]
            assert (evse.status, evse.evse_id) == (
                wire_evse["status"],
                wire_evse.get("evse_id", ""),
            )
            assert evse.capabilities == wire_evse.get("capabilities", [])
            connectors = {c.ocpi_id: c for c in Connector.objects.filter(evse=evse)}
            assert set(connectors) == {c["id"] for c in wire_evse["connectors"]}
            for wire_connector in wire_evse["connectors"]:
                connector = connectors[wire_connector["id"]]
                assert (
                    connector.standard,
                    connector.format,
                    connector.power_type,
                    connector.max_voltage,
                    connector.max_amperage,
                    connector.max_electric_power,
                    connector.tariff_ids,
                ) == (
                    wire_connector["standard"],
                    wire_connector["format"],
                    wire_connector["power_type"],
                    wire_connector["max_voltage"],
                    wire_connector["max_amperage"],
                    None if old else wire_connector.get("max_electric_power"),
                    wire_connector.get("tariff_ids", [])[: 1 if old else None],
                )


def assert_tariffs_mirror(partner: Partner, wire_tariffs: dict[str, Any], *, old: bool) -> None:
    """Our stored tariffs are the partner's, field by field (2.1.1 has no type or min/max)."""
    stored = {t.ocpi_id: t for t in Tariff.objects.filter(source=catalogue_source(partner))}
    assert set(stored) == set(wire_tariffs)
    for ocpi_id, wire in wire_tariffs.items():
        row = stored[ocpi_id]
        assert (
            row.country_code,
            row.party_id,
            row.currency,
            row.type,
            row.elements,
            row.tariff_alt_text,
            row.min_price,
            row.max_price,
            row.last_updated,
        ) == (
            wire["country_code"],
            wire["party_id"],
            wire["currency"],
            "" if old else wire.get("type", ""),
            wire["elements"],
            wire.get("tariff_alt_text", []),
            None if old else wire.get("min_price"),
            None if old else wire.get("max_price"),
            as_time(wire["last_updated"]),
        ), ocpi_id


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_register_then_full_pull_mirrors_the_sandbox_field_by_field(
    registered,  # type: ignore[no-untyped-def]
    sandbox_ocpi_version: str,
) -> None:
    sandbox, partner = registered
    assert partner.state == PartnerState.ACTIVE
    assert partner.version == sandbox_ocpi_version
    old = sandbox_ocpi_version == "2.1.1"
    assert partner.roles.get().party_id == sandbox.cpo.config.party_id

    run = partner_sync(partner=partner, full=True)

    assert run.state == SyncState.SUCCEEDED
    assert run.kind == SyncKind.FULL
    expected = sandbox.cpo.catalogue.locations
    assert_locations_mirror(partner, expected, old=old)
    assert_tariffs_mirror(partner, sandbox.cpo.catalogue.tariffs, old=old)
    # Only stations with an EVSE that supports remote start, from a partner with commands.
    remote = {
        loc_id
        for loc_id, loc in expected.items()
        if any("REMOTE_START_STOP_CAPABLE" in e.get("capabilities", []) for e in loc["evses"])
    }
    stored = Location.objects.filter(source=catalogue_source(partner), remote_start=True)
    assert set(stored.values_list("ocpi_id", flat=True)) == remote


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_a_delta_pull_brings_what_changed_since_the_last_one_field_by_field(
    registered,  # type: ignore[no-untyped-def]
    sandbox_ocpi_version: str,
) -> None:
    sandbox, partner = registered
    first = partner_sync(partner=partner)
    catalogue = sandbox.cpo.catalogue
    renamed, other = catalogue.order[3], catalogue.order[5]
    evse = catalogue.locations[other]["evses"][0]
    status = "OUTOFORDER" if evse["status"] != "OUTOFORDER" else "AVAILABLE"
    tariff = catalogue.tariffs["AC-ENERGY"]
    elements = copy.deepcopy(tariff["elements"])
    elements[0]["price_components"][0]["price"] = 0.47
    # The operator's changes, dated in a later second than the first pull started (OCPI
    # stamps are to the second).
    time.sleep(1)
    later = now_utc().replace(microsecond=0)
    catalogue.location_change(renamed, later, name="Renamed between pulls")
    catalogue.evse_status_set(evse["uid"], status, later)
    catalogue.tariff_change("AC-ENERGY", later, elements=elements)

    second = partner_sync(partner=partner)

    assert (second.kind, second.since, second.state) == (
        SyncKind.DELTA,
        first.started_at,
        SyncState.SUCCEEDED,
    )
    assert second.written < first.written
    assert Location.objects.get(ocpi_id=renamed).name == "Renamed between pulls"
    assert Evse.objects.get(uid=evse["uid"]).status == status
    price = Tariff.objects.get(ocpi_id="AC-ENERGY").elements[0]["price_components"][0]["price"]
    assert price == 0.47
    old = sandbox_ocpi_version == "2.1.1"
    assert_locations_mirror(partner, catalogue.locations, old=old)
    assert_tariffs_mirror(partner, catalogue.tariffs, old=old)


def test_full_pull_hides_stations_the_partner_no_longer_lists(registered) -> None:  # type: ignore[no-untyped-def]
    sandbox, partner = registered
    partner_sync(partner=partner, full=True)
    gone = sandbox.cpo.catalogue.order[0]
    with sandbox.cpo.catalogue.lock:
        sandbox.cpo.catalogue.order.remove(gone)
        del sandbox.cpo.catalogue.locations[gone]
        sandbox.cpo.catalogue.version += 1
    run = partner_sync(partner=partner, full=True)
    assert run.hidden == 1
    assert Location.objects.get(ocpi_id=gone).hidden


def test_invalid_locations_are_skipped_and_recorded_not_fatal(
    live_server,
    settings: Settings,
    sandbox_cpo_factory: Callable[..., SandboxHandle],  # type: ignore[no-untyped-def]
) -> None:
    settings.SITE_URL = live_server.url
    sandbox = sandbox_cpo_factory(stations=40, invalid_locations=2)
    partner = partner_register(
        name="Sandbox", versions_url=sandbox.versions_url, token_a=sandbox.token_a
    )
    run = partner_sync(partner=partner, full=True)
    assert run.state == SyncState.SUCCEEDED
    assert run.invalid == 2
    assert {item["object_id"] for item in run.invalid_objects} == sandbox.cpo.catalogue.invalid_ids
    assert all("invalid location" in item["reason"] for item in run.invalid_objects)
    assert Location.objects.count() == 38


def test_a_nul_character_skips_only_that_location_and_is_recorded(registered) -> None:  # type: ignore[no-untyped-def]
    """One location with NUL in a text field (or its id) is skipped and named on the run the
    partner's health page shows; the rest of its page and the pull land."""
    sandbox, partner = registered
    catalogue = sandbox.cpo.catalogue
    poison = [
        ("name", "\u0000"),
        ("address", "Main street \u0000 1"),
        ("city", "\u0000"),
        ("time_zone", "Europe/\u0000"),
        ("id", "LOC\u0000X"),
    ]
    with catalogue.lock:
        poisoned = dict(zip(catalogue.order[1::7], poison, strict=False))
        for location_id, (field, value) in poisoned.items():
            catalogue.locations[location_id][field] = value
        catalogue._bytes.clear()
        catalogue.version += 1

    run = partner_sync(partner=partner, full=True)

    assert run.state == SyncState.SUCCEEDED
    assert run.invalid == len(poison)
    reasons = {item["object_id"]: item["reason"] for item in run.invalid_objects}
    for location_id, (field, _) in poisoned.items():
        recorded = "LOC<NUL>X" if field == "id" else location_id
        assert field in reasons[recorded]
        assert "NUL" in reasons[recorded] or "pattern" in reasons[recorded]
    stored = set(Location.objects.values_list("ocpi_id", flat=True))
    assert stored == set(catalogue.locations) - set(poisoned)


def test_repeated_failures_degrade_the_partner_and_a_success_recovers_it(
    registered, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    sandbox, partner = registered
    settings.OUTBOUND_GET_ATTEMPTS = 1
    sandbox.cpo.config.fail_rate = 1.0
    for _ in range(3):
        with pytest.raises(PartnerError):
            partner_sync(partner=partner)
    partner.refresh_from_db()
    assert partner.state == PartnerState.DEGRADED
    assert partner.consecutive_failures == 3
    assert SyncRun.objects.filter(state=SyncState.FAILED).count() == 3
    sandbox.cpo.config.fail_rate = 0.0
    partner_sync(partner=partner)
    partner.refresh_from_db()
    assert (partner.state, partner.consecutive_failures, partner.last_error) == (
        PartnerState.ACTIVE,
        0,
        "",
    )


def test_a_page_failing_mid_pull_keeps_the_pages_before_it_and_records_every_call(
    registered, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    sandbox, partner = registered
    settings.OUTBOUND_GET_ATTEMPTS = 1
    sandbox.cpo.config.page_limit = 10
    sandbox.cpo.config.fault_delay = 0.2
    pages_written = 0

    def break_the_sandbox_after_two_pages(run: SyncRun) -> None:
        nonlocal pages_written
        pages_written += 1
        if pages_written == 2:
            sandbox.cpo.config.fail_rate = 1.0

    with pytest.raises(PartnerError):
        partner_sync(partner=partner, full=True, progress=break_the_sandbox_after_two_pages)

    run = SyncRun.objects.get()
    assert run.state == SyncState.FAILED
    assert run.error
    # Pages are written whole, in order, up to the one that failed (the reader process may
    # have fetched up to two more pages while page 2 was being written).
    stored = Location.objects.count()
    assert stored in (20, 30, 40)
    assert stored == pages_written * 10
    calls = OutboundCall.objects.filter(partner=partner, module="locations").order_by("id")
    # Every page fetched is on record, the failed one last (a 500, a dropped or a garbled
    # answer: the sandbox picks).
    assert [call.http_status for call in calls][:pages_written] == [200] * pages_written
    assert calls.count() == pages_written + 1
    assert not billiard.active_children()  # the reader process is gone


def test_the_reader_process_also_starts_inside_a_celery_pool_process() -> None:
    """Celery's prefork pool runs tasks in daemon processes, which the standard library's
    multiprocessing refuses children: a nightly pull on the worker must still get its reader."""
    ours, theirs = billiard.Pipe()

    def pool_process() -> None:
        theirs.send(list(read_ahead(iter(["page 1", "page 2", "page 3"]))))

    process = billiard.Process(target=pool_process, daemon=True)
    process.start()
    assert ours.poll(30), "the pool process gave no answer"
    assert ours.recv() == ["page 1", "page 2", "page 3"]
    process.join(10)
    assert process.exitcode == 0


class UnreadableError(Exception):
    """An error pickle can write but not read back (a required keyword-only argument)."""

    def __init__(self, *, detail: str) -> None:
        super().__init__(detail)


def pages_then_an_unreadable_error() -> Iterator[str]:
    yield "page 1"
    raise UnreadableError(detail="the reader's own failure")


def test_an_error_the_reader_cannot_hand_over_still_fails_the_pull_clearly() -> None:
    pages = read_ahead(pages_then_an_unreadable_error())
    assert next(pages) == "page 1"
    with pytest.raises(PartnerError, match="the pull's reader failed"):
        next(pages)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_reader_process_ends_when_the_pulling_process_is_killed() -> None:
    """A pull killed mid-way (a worker's hard time limit, the OOM killer) leaves no reader
    behind holding the dead pull's database connection open."""
    ours, theirs = billiard.Pipe()

    def pulling_process() -> None:
        pages = read_ahead(itertools.count())
        next(pages)
        theirs.send([child.pid for child in billiard.active_children()])
        time.sleep(60)

    process = billiard.Process(target=pulling_process, daemon=True)
    process.start()
    assert ours.poll(30), "the pulling process gave no answer"
    [reader] = ours.recv()
    assert running(reader)
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    deadline = time.monotonic() + 10
    while running(reader) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not running(reader)
    finally:
        if running(reader):  # an orphan would keep this test run's output pipe open
            os.kill(reader, signal.SIGKILL)


def test_a_big_pull_brings_the_planner_statistics_up_to_date(
    registered, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Stale statistics right after a first big pull made the status batches scan tables."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    _, partner = registered
    monkeypatch.setattr(sync, "STATISTICS_AFTER_WRITES", 50)  # the sandbox has 60 stations
    partner_sync(partner=partner, full=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN"
            " ('locator_location', 'locator_evse', 'locator_connector')"
        )
        estimated = dict(cursor.fetchall())
    assert estimated == {
        "locator_location": Location.objects.count(),
        "locator_evse": Evse.objects.count(),
        "locator_connector": Connector.objects.count(),
    }


def test_partner_register_and_sync_commands(
    live_server, settings: Settings, sandbox_cpo_factory
) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = live_server.url
    sandbox = sandbox_cpo_factory(stations=20)
    out = StringIO()
    call_command(
        "partner_register",
        "--name",
        "Sandbox",
        "--versions-url",
        sandbox.versions_url,
        "--token",
        sandbox.token_a,
        stdout=out,
    )
    assert "Registered with Sandbox (OCPI 2.2.1)" in out.getvalue()
    call_command("partner_sync", "Sandbox", "--full", stdout=out, verbosity=0)
    assert "Full pull of Sandbox: " in out.getvalue()
    assert Location.objects.count() == 20


def test_register_errors_are_clear(live_server, settings: Settings, sandbox_cpo_factory) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = live_server.url
    sandbox = sandbox_cpo_factory(stations=5)
    with pytest.raises(PartnerError, match="refused our token"):
        partner_register(name="Sandbox", versions_url=sandbox.versions_url, token_a="wrong")
    with pytest.raises(PartnerError, match="cannot be reached"):
        partner_register(
            name="Nobody", versions_url="http://127.0.0.1:9/ocpi/versions", token_a="x"
        )
    with pytest.raises(PartnerError, match="not JSON"):
        partner_register(name="Not OCPI", versions_url=f"{live_server.url}/", token_a="x")


def test_open_feed_is_pulled_without_a_handshake(registered) -> None:  # type: ignore[no-untyped-def]
    _, partner = registered
    # The sandbox only opens its locations to a registered party: use that token as the feed's
    # header, the way an operator's public feed would hand out a read token.
    feed = feed_add(
        name="Open feed",
        locations_url=partner.endpoint("locations"),
        header=f"Authorization: {authorization_header(partner.outbound_token)}",
    )
    run = partner_sync(partner=feed, full=True)
    assert run.written == 60
    feed_stations = Location.objects.filter(source=catalogue_source(feed))
    assert feed_stations.count() == 60
    assert not feed_stations.filter(remote_start=True).exists()


def test_feed_add_refuses_bad_input(settings: Settings) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(PartnerError, match="private or internal"):
        feed_add(name="Internal", locations_url="http://127.0.0.1:8000/locations")
    with pytest.raises(PartnerError, match="must look like"):
        feed_add(
            name="Bad header", locations_url="https://example.com/locations", header="no-colon"
        )


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_status_churn_pushed_by_the_sandbox_reaches_the_catalogue(registered) -> None:  # type: ignore[no-untyped-def]
    sandbox, partner = registered
    partner_sync(partner=partner, full=True)
    churn_started = timezone.now()
    sandbox.cpo.config.status_churn = 20
    changed: dict[str, str] = {}
    deadline = time.monotonic() + 10
    while len(changed) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
        with sandbox.cpo.catalogue.lock:
            changed = {
                uid: evse["status"]
                for uid, (_, evse) in sandbox.cpo.catalogue.evses.items()
                if as_time(evse["last_updated"]) > churn_started
            }
    sandbox.cpo.config.status_churn = 0
    assert len(changed) >= 5, "the sandbox did not churn"

    def ours() -> dict[str, str]:
        return dict(Evse.objects.filter(uid__in=changed).values_list("uid", "status"))

    while ours() != changed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ours() == changed
