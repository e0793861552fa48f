"""Catalogue writers running at once on PostgreSQL, each in its own thread and connection.

Several status batches (one per Celery worker) and pull pages write the same stations. Each
test queues writers behind a transaction holding some of the stations (with their EVSEs), then
lets go. The held stations are chosen so that writers taking rows in different orders would by
then each hold a row the other one needs: a deadlock, which PostgreSQL ends by aborting one of
them. Writers sharing one order queue up behind the same row and all finish.
"""

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from locator.catalogue import EvseStatusUpdate, LocationRecord, catalogue_locations_upsert
from locator.catalogue.statuses import evse_statuses_apply
from locator.models import Evse, Location
from tests.conftest import database_connect
from tests.locator.conftest import SOURCE, at, evse, location

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers need PostgreSQL (SQLite has one writer)")


def second_party(record: LocationRecord) -> LocationRecord:
    return dataclasses.replace(record, country_code="DE", party_id="ABC")


@pytest.fixture
def stations() -> list[Location]:
    """Four stations of two parties, interleaved so that no party's stations come first by id
    (NL/PLW A, DE/ABC B, NL/PLW C, DE/ABC D), each with two EVSEs."""
    records = []
    for number, name in enumerate("ABCD"):
        record = location(
            name, evses=(evse(f"{name}1", "AVAILABLE"), evse(f"{name}2", "AVAILABLE"))
        )
        records.append(second_party(record) if number % 2 else record)
    for record in records:  # one page each, so ids follow the letters
        catalogue_locations_upsert(source=SOURCE, records=[record])
    return list(Location.objects.order_by("id"))


class Gate:
    """A transaction holding some stations and their EVSEs until `open()`, and the writers
    queued behind it."""

    def __init__(self, held: list[Location]) -> None:
        ids = [station.id for station in held]
        self.holder = database_connect()
        self.holder.execute("SELECT 1 FROM locator_location WHERE id = ANY(%s) FOR UPDATE", [ids])
        self.holder.execute(
            "SELECT 1 FROM locator_evse WHERE location_id = ANY(%s) FOR UPDATE", [ids]
        )
        self.watcher = database_connect()
        self.watcher.autocommit = True
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def queue(self, write: Callable[[], object]) -> None:
        """Start a writer in its own thread and connection; return once it waits for a lock."""

        def run() -> None:
            try:
                write()
            except BaseException as error:  # reported by the test
                self.errors.append(error)
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)
        deadline = time.monotonic() + 30
        while self.waiting() < len(self.threads):
            assert time.monotonic() < deadline, "the writer never reached the held rows"
            assert thread.is_alive(), f"the writer finished without waiting: {self.errors}"
            time.sleep(0.01)

    def waiting(self) -> int:
        row = self.watcher.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        return int(row[0]) if row else 0

    def open(self) -> list[BaseException]:
        """Let every writer go at once; wait for all of them and return what they raised."""
        self.holder.commit()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads), "a writer never finished"
        return self.errors

    def close(self) -> None:
        self.holder.close()
        self.watcher.close()


@contextmanager
def gate(held: list[Location]) -> Iterator[Gate]:
    opened = Gate(held)
    try:
        yield opened
    finally:
        opened.close()


def statuses(stations: list[Location], status: str, minute: int) -> list[EvseStatusUpdate]:
    return [
        EvseStatusUpdate(
            station.country_code, station.party_id, station.ocpi_id, uid, status, at(minute)
        )
        for station in stations
        for uid in (f"{station.ocpi_id}1", f"{station.ocpi_id}2")
    ]


def test_two_status_batches_over_the_same_parties_both_finish(stations: list[Location]) -> None:
    by_party = sorted(stations, key=lambda station: station.party_id)  # DE/ABC first
    with gate(stations[2:]) as held:  # C and D: party by party, each batch holds A or B
        held.queue(
            lambda: evse_statuses_apply(source=SOURCE, updates=statuses(by_party, "CHARGING", 1))
        )
        held.queue(
            lambda: evse_statuses_apply(
                source=SOURCE, updates=statuses(by_party[::-1], "OUTOFORDER", 2)
            )
        )
        assert held.open() == []
    assert set(Evse.objects.values_list("status", flat=True)) == {"OUTOFORDER"}
    assert set(Location.objects.values_list("available_count", flat=True)) == {0}


def test_a_status_batch_and_a_pull_page_over_the_same_stations_both_finish(
    stations: list[Location],
) -> None:
    pulled = [
        location(
            station.ocpi_id, evses=(evse(f"{station.ocpi_id}1", "BLOCKED", when=at(5)),), when=at(5)
        )
        for station in stations
    ]
    pulled = [
        record if station.party_id == "PLW" else second_party(record)
        for record, station in zip(pulled, stations, strict=True)
    ]
    with gate(stations[1:3]) as held:  # B and C: from opposite ends, one holds A, the other D
        held.queue(lambda: catalogue_locations_upsert(source=SOURCE, records=pulled[::-1]))
        held.queue(
            lambda: evse_statuses_apply(source=SOURCE, updates=statuses(stations, "CHARGING", 1))
        )
        assert held.open() == []
    # Whichever went first, the pull's newer status wins on every EVSE it lists.
    listed = Evse.objects.filter(uid__endswith="1")
    assert set(listed.values_list("status", flat=True)) == {"BLOCKED"}
