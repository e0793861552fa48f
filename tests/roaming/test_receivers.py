"""Our locations and tariffs receivers, fed the spec's examples and every kind of bad push."""

import base64
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoAssertNumQueries, Settings

from config.celery import app as celery_app
from config.redis_connection import redis_connection
from locator.catalogue import known_evses, status_queue
from locator.models import Evse, Location, Tariff
from roaming.crypto import token_hash
from roaming.models import Partner, PartnerRole, PartnerState
from roaming.push_counts import push_counts
from tests.conftest import (
    CeleryWorker,
    database_connect,
    redis_unreachable_reason,
    skip_or_fail,
)

pytestmark = pytest.mark.django_db

# The spec's examples as published, and fixed copies of the two that break its own rules.
EXAMPLES = Path(__file__).resolve().parent / "ocpi_examples_221"
FIXED_EXAMPLES = Path(__file__).resolve().parent / "ocpi_examples_221_fixed"
HUB_TOKEN = "hub-token-c"
LOCATION_EXAMPLES = sorted(EXAMPLES.glob("location_example*.json"))
TARIFF_EXAMPLES = sorted(EXAMPLES.glob("tariff_[0-9]*.json"))


def example(name: str) -> dict[str, Any]:
    fixed = FIXED_EXAMPLES / name
    return json.loads((fixed if fixed.exists() else EXAMPLES / name).read_text())


@pytest.fixture
def hub() -> Partner:
    """A roaming hub carrying every party the spec's examples use."""
    partner = Partner.objects.create(
        name="Hub",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash(HUB_TOKEN),
    )
    for country_code, party_id in [
        ("BE", "BEC"),
        ("SE", "EVC"),
        ("NL", "ALF"),
        ("NL", "ALL"),
        ("DE", "ALL"),
    ]:
        PartnerRole.objects.create(
            partner=partner, role="CPO", country_code=country_code, party_id=party_id
        )
    return partner


class Ocpi:
    def __init__(self, client: Client, token: str = HUB_TOKEN) -> None:
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": "Token " + base64.b64encode(token.encode()).decode()}

    def call(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        response = getattr(self.client, method)(
            f"/ocpi/2.2.1/{path}", data=data, content_type="application/json", **self.auth
        )
        return response.status_code, response.json()


@pytest.fixture
def ocpi(client: Client, hub: Partner) -> Ocpi:
    return Ocpi(client)


def location_path(location: dict[str, Any]) -> str:
    return f"locations/{location['country_code']}/{location['party_id']}/{location['id']}"


def catalogue_snapshot() -> list[tuple[Any, ...]]:
    return sorted(
        Location.objects.values_list("ocpi_id", "name", "last_updated", "visible")
    ) + sorted(Evse.objects.values_list("uid", "status", "last_updated"))


@pytest.mark.parametrize("path", LOCATION_EXAMPLES, ids=lambda p: p.stem)
def test_every_spec_location_example_is_stored_and_read_back(ocpi: Ocpi, path: Path) -> None:
    location = json.loads(path.read_text())
    status, body = ocpi.call("put", location_path(location), location)
    assert (status, body["status_code"]) == (200, 1000), body
    status, body = ocpi.call("get", location_path(location))
    assert status == 200
    stored = body["data"]
    assert (stored["id"], stored["address"], stored["last_updated"]) == (
        location["id"],
        location["address"],
        location["last_updated"],
    )
    assert [evse["uid"] for evse in stored.get("evses", [])] == [
        evse["uid"] for evse in location.get("evses", [])
    ]


@pytest.mark.parametrize("path", TARIFF_EXAMPLES, ids=lambda p: p.stem)
def test_every_spec_tariff_example_is_stored_and_read_back(ocpi: Ocpi, path: Path) -> None:
    tariff = json.loads(path.read_text())
    where = f"tariffs/{tariff['country_code']}/{tariff['party_id']}/{tariff['id']}"
    status, body = ocpi.call("put", where, tariff)
    assert (status, body["status_code"]) == (200, 1000), body
    stored = ocpi.call("get", where)[1]["data"]
    assert stored["elements"] == json.loads(json.dumps(tariff["elements"]))
    assert stored["currency"] == tariff["currency"]
    assert stored.get("tariff_alt_url") == tariff.get("tariff_alt_url")


def test_unpublished_location_is_hidden_from_search(ocpi: Ocpi) -> None:
    ocpi.call(
        "put",
        location_path(example("location_example_uc2_destination_charger.json")),
        example("location_example_uc2_destination_charger.json"),
    )
    assert Location.objects.get().visible
    unpublished = example("location_example_uc3_destination_charger_not_published.json")
    unpublished["last_updated"] = "2019-07-02T00:00:00Z"
    ocpi.call("put", location_path(unpublished), unpublished)
    assert not Location.objects.get().visible


def test_spec_patch_and_add_evse_examples_apply_and_bump_parents(ocpi: Ocpi) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    base = location_path(location)
    evse_uid = location["evses"][0]["uid"]

    _, body = ocpi.call(
        "patch", f"{base}/{evse_uid}", example("location_patch_example_status.json")
    )
    assert body["status_code"] == 1000
    evse = Evse.objects.get(uid=evse_uid)
    assert evse.status == example("location_patch_example_status.json")["status"]
    assert Location.objects.get().last_updated.isoformat().startswith("2019-06-24T12:39:09")

    new_evse = example("location_put_example_add_evse.json")
    _, body = ocpi.call("put", f"{base}/{new_evse['uid']}", new_evse)
    assert body["status_code"] == 1000
    assert Evse.objects.get(uid=new_evse["uid"]).floor_level == new_evse["floor_level"]

    connector_id = location["evses"][0]["connectors"][0]["id"]
    patch = example("location_patch_example_tariff.json")
    ocpi.call("patch", f"{base}/{evse_uid}/{connector_id}", patch)
    assert evse.connectors.get(ocpi_id=connector_id).tariff_ids == patch["tariff_ids"]

    ocpi.call("patch", base, example("location_patch_example_location.json"))
    assert Location.objects.get().name == example("location_patch_example_location.json")["name"]


def test_removed_evses_leave_the_station_invisible(ocpi: Ocpi) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    for number, evse in enumerate(location["evses"]):
        ocpi.call(
            "patch",
            f"{location_path(location)}/{evse['uid']}",
            {"status": "REMOVED", "last_updated": f"2020-01-0{number + 1}T00:00:00Z"},
        )
    assert not Location.objects.get().visible


def test_older_last_updated_never_overwrites_newer(ocpi: Ocpi) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    evse_uid = location["evses"][0]["uid"]
    ocpi.call(
        "patch",
        f"{location_path(location)}/{evse_uid}",
        {"status": "CHARGING", "last_updated": "2020-01-01T00:00:00Z"},
    )
    before = catalogue_snapshot()
    status, body = ocpi.call(
        "patch",
        f"{location_path(location)}/{evse_uid}",
        {"status": "AVAILABLE", "last_updated": "2019-12-31T23:59:59Z"},
    )
    assert (status, body["status_code"]) == (200, 1000)
    assert "newer" in body["status_message"]
    stale = location | {"name": "Stale name"}
    ocpi.call("put", location_path(location), stale)
    assert catalogue_snapshot() == before


def bad_pushes() -> list[tuple[str, str, str, Any, int, int, str]]:
    location = example("location_example.json")
    base = location_path(location)
    evse_uid = location["evses"][0]["uid"]
    return [
        ("wrong id", "put", base, location | {"id": "OTHER"}, 400, 2001, "id in the body"),
        ("wrong party", "put", base, location | {"party_id": "XYZ"}, 400, 2001, "party_id"),
        (
            "patch without last_updated",
            "patch",
            f"{base}/{evse_uid}",
            {"status": "CHARGING"},
            400,
            2001,
            "last_updated",
        ),
        (
            "invalid enum",
            "patch",
            f"{base}/{evse_uid}",
            {"status": "ON_FIRE", "last_updated": "2030-01-01T00:00:00Z"},
            400,
            2001,
            "status",
        ),
        (
            "missing required field",
            "put",
            base,
            {k: v for k, v in location.items() if k != "city"},
            400,
            2001,
            "city",
        ),
        ("huge string", "put", base, location | {"address": "x" * 100_000}, 400, 2001, "address"),
        (
            "bad coordinates",
            "put",
            base,
            location | {"coordinates": {"latitude": "north", "longitude": "4.0"}},
            400,
            2001,
            "latitude",
        ),
        (
            "coordinates off the globe",
            "put",
            base,
            location | {"coordinates": {"latitude": "95.00000", "longitude": "4.00000"}},
            400,
            2001,
            "latitude",
        ),
        (
            "bad timestamp",
            "put",
            base,
            location | {"last_updated": "yesterday"},
            400,
            2001,
            "last_updated",
        ),
        (
            "evses as a patch list",
            "patch",
            base,
            {"evses": [], "last_updated": "2030-01-01T00:00:00Z"},
            400,
            2001,
            "evses",
        ),
        (
            "unknown patch field",
            "patch",
            base,
            {"colour": "red", "last_updated": "2030-01-01T00:00:00Z"},
            400,
            2001,
            "colour",
        ),
        ("not an object", "put", base, [location], 400, 2001, "object"),
        (
            "evse on an unknown location",
            "put",
            f"locations/BE/BEC/NOPE/{evse_uid}",
            location["evses"][0],
            404,
            2003,
            "NOPE",
        ),
        (
            "patch of an unknown evse",
            "patch",
            f"{base}/NOPE",
            {"status": "CHARGING", "last_updated": "2030-01-01T00:00:00Z"},
            404,
            2003,
            "NOPE",
        ),
        (
            "someone else's party",
            "put",
            "locations/FR/XXX/LOC1",
            location | {"country_code": "FR", "party_id": "XXX"},
            404,
            2000,
            "is not your party",
        ),
    ]


@pytest.mark.parametrize(
    ("case", "method", "path", "body", "http", "status", "words"),
    bad_pushes(),
    ids=[c[0] for c in bad_pushes()],
)
def test_bad_pushes_get_the_right_error_and_change_nothing(
    ocpi: Ocpi, case: str, method: str, path: str, body: Any, http: int, status: int, words: str
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    before = catalogue_snapshot()
    got_http, got = ocpi.call(method, path, body)
    assert (got_http, got["status_code"]) == (http, status), got
    assert words in got["status_message"]
    assert catalogue_snapshot() == before


def nul_pushes() -> list[tuple[str, str, dict[str, Any], str]]:
    """A NUL character (U+0000) in partner text, which PostgreSQL cannot store: in each text
    field the issue named, in a vendor field we keep, nested, and in a PATCH."""
    location = example("location_example.json")
    base = location_path(location)
    evse_uid = location["evses"][0]["uid"]
    later = {"last_updated": "2030-01-01T00:00:00Z"}
    return [
        ("put", base, location | {"name": "\u0000"}, "name"),
        ("put", base, location | {"address": "Street \u0000 1"}, "address"),
        ("put", base, location | {"city": "\u0000"}, "city"),
        ("put", base, location | {"time_zone": "Europe/\u0000"}, "time_zone"),
        ("put", base, location | {"x_vendor": {"note": ["ok", "\u0000"]}}, "x_vendor"),
        (
            "put",
            base,
            location | {"opening_times": {"twentyfourseven": True, "note": "\u0000"}},
            "opening_times",
        ),
        ("put", base, location | {"operator": {"name": "Op\u0000"}}, "operator.name"),
        ("patch", base, {"name": "\u0000"} | later, "name"),
        ("patch", f"{base}/{evse_uid}", {"floor_level": "\u0000"} | later, "floor_level"),
    ]


@pytest.mark.parametrize(("method", "path", "body", "field"), nul_pushes())
def test_a_nul_character_in_partner_text_is_refused_with_2001_naming_the_field(
    ocpi: Ocpi, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    before = catalogue_snapshot()
    got_http, got = ocpi.call(method, path, body)
    assert (got_http, got["status_code"]) == (400, 2001), got
    assert field in got["status_message"]
    assert "NUL" in got["status_message"]
    assert catalogue_snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "locations/BE/BEC/LO%00C"),
        ("delete", "tariffs/BE/BEC/T%001"),
        ("patch", "locations/BE/BEC/LOC1/E%001"),
    ],
)
def test_a_nul_character_in_the_url_is_refused_with_2001(
    ocpi: Ocpi, method: str, path: str
) -> None:
    body = None if method == "get" else {"last_updated": "2030-01-01T00:00:00Z"}
    got_http, got = ocpi.call(method, path, body)
    assert (got_http, got["status_code"]) == (400, 2001), got
    assert "NUL" in got["status_message"]


def test_broken_json_is_400(ocpi: Ocpi) -> None:
    status, body = ocpi.call("put", "locations/BE/BEC/LOC1", raw=b'{"id": "LOC1", ')
    assert (status, body["status_code"]) == (400, 2001)
    assert Location.objects.count() == 0


def test_get_of_an_unknown_location_is_404(ocpi: Ocpi) -> None:
    status, body = ocpi.call("get", "locations/BE/BEC/NOPE")
    assert (status, body["status_code"]) == (404, 2003)


def test_token_a_and_strangers_cannot_push(client: Client, hub: Partner) -> None:
    location = example("location_example.json")
    invited = Partner.objects.create(
        name="Invited",
        state=PartnerState.INVITED,
        inbound_token_hash=token_hash("token-a"),
        inbound_token_is_a=True,
    )
    assert invited
    assert Ocpi(client, "token-a").call("put", location_path(location), location)[0] == 401
    assert Ocpi(client, "stranger").call("put", location_path(location), location)[0] == 401
    assert Location.objects.count() == 0


def test_tariff_delete_and_ownership(ocpi: Ocpi) -> None:
    tariff = example("tariff_1_simple_2hour.json")
    where = f"tariffs/{tariff['country_code']}/{tariff['party_id']}/{tariff['id']}"
    ocpi.call("put", where, tariff)
    assert ocpi.call("put", where, tariff | {"id": "99"})[1]["status_code"] == 2001
    assert ocpi.call("delete", where)[1]["status_code"] == 1000
    assert not Tariff.objects.exists()
    assert ocpi.call("get", where)[0] == 404


def test_a_hub_writes_for_parties_behind_it_but_not_for_a_direct_partners(client: Client) -> None:
    hub = Partner.objects.create(
        name="Hub 2.2.1",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash("hub-only-token"),
    )
    PartnerRole.objects.create(partner=hub, role="HUB", country_code="DE", party_id="HUB")
    direct = Partner.objects.create(name="Direct CPO", state=PartnerState.ACTIVE, version="2.2.1")
    PartnerRole.objects.create(partner=direct, role="CPO", country_code="BE", party_id="BEC")
    pushes = Ocpi(client, "hub-only-token")
    behind_hub = example("location_example_uc5_home_charge_point.json")
    assert pushes.call("put", location_path(behind_hub), behind_hub)[1]["status_code"] == 1000
    directly_connected = example("location_example.json")
    status, body = pushes.call("put", location_path(directly_connected), directly_connected)
    assert (status, body["status_code"]) == (404, 2000)
    ours = {**behind_hub, "country_code": "NL", "party_id": "PLW", "id": "SPOOF"}
    status, body = pushes.call("put", location_path(ours), ours)
    assert (status, body["status_code"]) == (404, 2000)
    assert Location.objects.count() == 1


@pytest.fixture
def batching(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Status pushes queued in Redis as in production, under keys of this test's own. Returns
    the drains the receiver asked Celery for: the test runs them itself."""
    reason = redis_unreachable_reason()
    if reason:
        skip_or_fail(reason)
    settings.REDIS_URL = os.environ["REDIS_URL"]
    for key in ("QUEUE_KEY", "DRAIN_SCHEDULED_KEY", "DRAIN_LEASE_KEY"):
        monkeypatch.setattr(status_queue, key, f"test:{uuid.uuid4().hex}")
    sent: list[str] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **options: sent.append(name))
    return sent


def queued_pushes() -> int:
    client = redis_connection()
    assert client is not None
    return int(client.llen(status_queue.QUEUE_KEY))


def status_push(ocpi: Ocpi, location: dict[str, Any], uid: str, status: str) -> tuple[int, int]:
    http, body = ocpi.call(
        "patch",
        f"{location_path(location)}/{uid}",
        {"status": status, "last_updated": "2030-01-01T00:00:00Z"},
    )
    return http, body["status_code"]


def out_of_order_pushed(ocpi: Ocpi, location: dict[str, Any]) -> list[str]:
    """Every EVSE of the station pushed OUTOFORDER with Celery no longer eager, as in
    production; returns their uids."""
    celery_app.conf.task_always_eager = False  # the autouse fixture turns it back on
    evses = [evse["uid"] for evse in location["evses"]]
    for uid in evses:
        assert status_push(ocpi, location, uid, "OUTOFORDER") == (200, 1000)
    return evses


def test_status_pushes_are_queued_then_applied_in_a_batch(
    ocpi: Ocpi, hub: Partner, batching: list[str]
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    evses = out_of_order_pushed(ocpi, location)
    assert batching == ["locator.tasks.catalogue_evse_statuses_apply"]  # one drain for the burst
    assert push_counts(partner_ids=[hub.pk], now=timezone.now()) == {hub.pk: 1 + len(evses)}
    assert set(Evse.objects.values_list("status", flat=True)) != {"OUTOFORDER"}
    assert status_queue.evse_statuses_queued_apply() == len(evses)
    assert set(Evse.objects.values_list("status", flat=True)) == {"OUTOFORDER"}
    assert Location.objects.get().available_count == 0
    assert queued_pushes() == 0


def test_status_pushes_are_queued_and_counted_after_redis_lost_its_scripts(
    ocpi: Ocpi, hub: Partner, batching: list[str]
) -> None:
    """A restarted Redis no longer holds the queue's script: the receiver loads it again."""
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    celery_app.conf.task_always_eager = False  # the autouse fixture turns it back on
    uid = location["evses"][0]["uid"]
    assert status_push(ocpi, location, uid, "CHARGING") == (200, 1000)
    client = redis_connection()
    assert client is not None
    client.script_flush()
    assert status_push(ocpi, location, uid, "OUTOFORDER") == (200, 1000)
    assert queued_pushes() == 2
    assert push_counts(partner_ids=[hub.pk], now=timezone.now()) == {hub.pk: 3}


def test_a_queued_push_that_cannot_be_read_does_not_hold_up_the_rest(
    ocpi: Ocpi, batching: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    client = redis_connection()
    assert client is not None
    client.rpush(status_queue.QUEUE_KEY, b'{"queued by": "another release"}')
    evses = out_of_order_pushed(ocpi, location)
    assert status_queue.evse_statuses_queued_apply() == 1 + len(evses)
    assert set(Evse.objects.values_list("status", flat=True)) == {"OUTOFORDER"}
    assert queued_pushes() == 0
    assert "cannot be read" in caplog.text


def test_status_pushes_cost_one_query_per_party_then_none(
    ocpi: Ocpi, batching: list[str], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    celery_app.conf.task_always_eager = False
    first, *others = [evse["uid"] for evse in location["evses"]]
    with django_assert_num_queries(1):  # every EVSE we hold of the party
        assert status_push(ocpi, location, first, "CHARGING") == (200, 1000)
    with django_assert_num_queries(0):
        for uid in others:
            assert status_push(ocpi, location, uid, "CHARGING") == (200, 1000)


def test_a_status_push_for_an_evse_added_since_is_queued(ocpi: Ocpi, batching: list[str]) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    out_of_order_pushed(ocpi, location)  # what we hold of the party is remembered
    added = example("location_put_example_add_evse.json") | {"uid": "3258"}
    assert ocpi.call("put", f"{location_path(location)}/{added['uid']}", added)[0] == 200
    assert status_push(ocpi, location, added["uid"], "CHARGING") == (200, 1000)
    assert queued_pushes() == len(location["evses"]) + 1


@pytest.mark.parametrize("unknown", ["evse", "location"])
def test_a_status_push_for_what_we_do_not_hold_is_refused_and_not_queued(
    ocpi: Ocpi, batching: list[str], unknown: str
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    celery_app.conf.task_always_eager = False
    before = catalogue_snapshot()
    elsewhere = location | {"id": "NOPE"} if unknown == "location" else location
    uid = "NOPE" if unknown == "evse" else location["evses"][0]["uid"]
    status, body = ocpi.call(
        "patch",
        f"{location_path(elsewhere)}/{uid}",
        {"status": "CHARGING", "last_updated": "2030-01-01T00:00:00Z"},
    )
    assert (status, body["status_code"]) == (404, 2003)
    assert body["status_message"].lower().startswith(f"unknown {unknown}")  # "...: PUT it first"
    assert queued_pushes() == 0
    assert catalogue_snapshot() == before


def test_status_pushes_for_a_deleted_station_are_refused(
    ocpi: Ocpi, batching: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    evses = out_of_order_pushed(ocpi, location)  # remembered as known
    with django_capture_on_commit_callbacks(execute=True):
        Location.objects.get().delete()  # as the admin's delete does
    assert status_push(ocpi, location, evses[0], "AVAILABLE") == (404, 2003)
    assert queued_pushes() == len(evses)  # only those from before; the drain skips them


def test_a_station_deleted_by_another_process_is_heard_of_through_redis(
    ocpi: Ocpi, batching: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(known_evses, "GENERATION_CHECK_SECONDS", 0)  # not once a second
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    [uid, *_] = out_of_order_pushed(ocpi, location)  # remembered as known
    # Another web process deletes the station: this one sees neither the ORM call nor its
    # signal, only the new generation it announces in Redis once committed.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM locator_location")
    client = redis_connection()
    assert client is not None
    client.set(known_evses.GENERATION_KEY, uuid.uuid4().hex)
    assert status_push(ocpi, location, uid, "AVAILABLE") == (404, 2003)


@pytest.mark.django_db(transaction=True)
def test_a_batch_the_database_refuses_stays_queued_and_applies_on_the_next_run(
    ocpi: Ocpi, batching: list[str]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("lock_timeout is PostgreSQL's")
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    evses = out_of_order_pushed(ocpi, location)
    before = catalogue_snapshot()
    with database_connect() as holder:
        holder.execute("SELECT 1 FROM locator_location FOR UPDATE")  # e.g. a long pull page
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            with pytest.raises(OperationalError, match="lock timeout"):
                status_queue.evse_statuses_queued_apply()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    assert catalogue_snapshot() == before
    assert queued_pushes() == len(evses)
    assert status_queue.evse_statuses_queued_apply() == len(evses)
    assert set(Evse.objects.values_list("status", flat=True)) == {"OUTOFORDER"}
    assert queued_pushes() == 0


@pytest.fixture
def impatient_worker(worker_database: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker started next gives up on a row lock after half a second."""
    monkeypatch.setenv(
        "DATABASE_URL", os.environ["DATABASE_URL"] + "?options=-c%20lock_timeout%3D500"
    )


def waiting_for_locks(watcher: psycopg.Connection) -> int:
    row = watcher.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_drain_the_database_refuses_is_retried_by_the_worker_until_every_push_applies(
    impatient_worker: None,
    celery_worker: CeleryWorker,
    default_queue: None,
    ocpi: Ocpi,
    settings: Settings,
) -> None:
    settings.REDIS_URL = os.environ["REDIS_URL"]
    redis = redis_connection()
    assert redis is not None
    # The worker, another process, drains the real queue: empty it of earlier runs' leftovers.
    redis.delete(status_queue.QUEUE_KEY, status_queue.DRAIN_LEASE_KEY)
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    deadline = time.monotonic() + 60
    with database_connect() as holder, database_connect(autocommit=True) as watcher:
        holder.execute("SELECT 1 FROM locator_location FOR UPDATE")  # e.g. a long pull page
        evses = out_of_order_pushed(ocpi, location)
        while not waiting_for_locks(watcher):  # the drain waits for the station...
            assert time.monotonic() < deadline, "no drain reached the station"
            time.sleep(0.02)
        while waiting_for_locks(watcher):  # ...and gives up while the station is still held
            assert time.monotonic() < deadline, "the drain never gave up"
            time.sleep(0.02)
        assert redis.llen(status_queue.QUEUE_KEY) == len(evses)
        assert not Evse.objects.filter(status="OUTOFORDER").exists()
    while Evse.objects.exclude(status="OUTOFORDER").exists():
        assert time.monotonic() < deadline, "the drain was not retried"
        time.sleep(0.05)
    # The drain drops the batch from the queue just after its commit made the statuses visible.
    while redis.llen(status_queue.QUEUE_KEY):
        assert time.monotonic() < deadline, "the applied pushes stayed queued"
        time.sleep(0.01)


def test_pushes_while_redis_is_down_are_refused_with_503_not_lost_silently(
    ocpi: Ocpi, settings: Settings
) -> None:
    location = example("location_example.json")
    ocpi.call("put", location_path(location), location)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    celery_app.conf.task_always_eager = False  # as in production; the autouse fixture restores it
    before = catalogue_snapshot()
    status, body = ocpi.call(
        "patch",
        f"{location_path(location)}/{location['evses'][0]['uid']}",
        {"status": "CHARGING", "last_updated": "2030-01-01T00:00:00Z"},
    )
    assert (status, body["status_code"]) == (503, 3000)
    assert "retry" in body["status_message"]
    assert catalogue_snapshot() == before
    tariff = example("tariff_1_simple_2hour.json")
    where = f"tariffs/{tariff['country_code']}/{tariff['party_id']}/{tariff['id']}"
    assert ocpi.call("put", where, tariff)[1]["status_code"] == 1000  # the counter is not vital
