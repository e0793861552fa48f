"""OCPI authentication remembers partners in each process; no change to a partner is missed."""

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoAssertNumQueries, Settings

from config.celery import app as celery_app
from config.redis_connection import generation_start
from roaming.crypto import token_hash
from roaming.models import Partner, PartnerRole, PartnerState
from roaming.ocpi import known_partners
from roaming.push_counts import push_counts
from roaming.services import partner_unregister
from tests.conftest import redis_unreachable_reason, skip_or_fail
from tests.roaming.test_receivers import (  # noqa: F401 (batching: a fixture)
    Ocpi,
    batching,
    example,
    location_path,
    queued_pushes,
    status_push,
)

pytestmark = pytest.mark.django_db

TOKEN = "cpo-token-b"
LOCATION = example("location_example.json")  # BE*BEC


@pytest.fixture
def remembering(settings: Settings) -> None:
    """Partners are remembered only with Redis, as in production."""
    reason = redis_unreachable_reason()
    if reason:
        skip_or_fail(reason)
    settings.REDIS_URL = os.environ["REDIS_URL"]


@pytest.fixture
def cpo() -> Partner:
    partner = Partner.objects.create(
        name="CPO", state=PartnerState.ACTIVE, version="2.2.1", inbound_token_hash=token_hash(TOKEN)
    )
    PartnerRole.objects.create(partner=partner, role="CPO", country_code="BE", party_id="BEC")
    return partner


def push(client: Client) -> tuple[int, dict[str, Any]]:
    return Ocpi(client, TOKEN).call("put", location_path(LOCATION), LOCATION)


def test_a_known_partner_costs_no_query(
    remembering: None,
    cpo: Partner,
    client: Client,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    assert push(client)[0] == 200
    with django_assert_num_queries(0):
        assert Ocpi(client, TOKEN).call("get", "")[0] == 200  # version details: auth only


def role_taken_away(partner: Partner) -> None:
    partner.roles.all().delete()


def token_rotated(partner: Partner) -> None:
    partner.inbound_token_hash = token_hash("the-next-token")  # as credentials_accept does
    partner.save()


CHANGES: dict[str, tuple[Callable[[Partner], Any], int]] = {
    "disabled by an admin": (
        lambda partner: Partner.objects.filter(pk=partner.pk).update(state=PartnerState.DISABLED),
        401,
    ),
    "unregistered": (lambda partner: partner_unregister(partner=partner), 401),
    "token rotated": (token_rotated, 401),
    "role taken away": (role_taken_away, 404),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_process_sees_a_change_once_it_commits(
    remembering: None,
    cpo: Partner,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    change: str,
) -> None:
    assert push(client)[0] == 200
    other_process = known_partners._known  # what a process that served that call remembers
    assert other_process is not None
    assert token_hash(TOKEN) in other_process.by_token_hash
    write, refused_with = CHANGES[change]
    with django_capture_on_commit_callbacks(execute=True):
        write(cpo)
    monkeypatch.setattr(known_partners, "_known", other_process)  # it has not heard yet
    status, body = push(client)
    assert status == refused_with, body
    assert body["status_code"] == 2000


def status_pushed_from_memory(
    client: Client, monkeypatch: pytest.MonkeyPatch, change: Callable[[], Any]
) -> tuple[int, int]:
    """A status push queued as in production, then `change`, then another push answered from
    what this process remembered before it; returns that push's HTTP and OCPI statuses."""
    assert push(client)[0] == 200
    celery_app.conf.task_always_eager = False  # queued in Redis, as in production
    ocpi = Ocpi(client, TOKEN)
    uid = LOCATION["evses"][0]["uid"]
    assert status_push(ocpi, LOCATION, uid, "CHARGING") == (200, 1000)
    other_process = known_partners._known
    change()
    monkeypatch.setattr(known_partners, "_known", other_process)  # it has not heard yet
    return status_push(ocpi, LOCATION, uid, "AVAILABLE")


@pytest.mark.usefixtures("batching")
@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_status_push_answered_from_memory_sees_a_change_once_it_commits(
    remembering: None,
    cpo: Partner,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    change: str,
) -> None:
    """A status push goes on from what the process remembers and checks the generation in
    the same round trip as it is queued: a revoked partner's push is refused all the same."""
    write, refused_with = CHANGES[change]

    def committed() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            write(cpo)

    assert status_pushed_from_memory(client, monkeypatch, committed) == (refused_with, 2000)
    assert queued_pushes() == 1  # only the push from before the change


@pytest.mark.usefixtures("batching")
def test_a_status_push_answered_from_an_old_memory_is_queued_and_counted_once(
    remembering: None, cpo: Partner, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another partner changed: a push this process answered from what it remembered is
    authenticated again and taken, once."""

    def another_partner_changed() -> None:
        assert generation_start(known_partners.GENERATION_KEY)

    assert status_pushed_from_memory(client, monkeypatch, another_partner_changed) == (200, 1000)
    assert queued_pushes() == 2
    assert push_counts(partner_ids=[cpo.pk], now=timezone.now()) == {cpo.pk: 3}


def test_a_change_behind_the_models_back_is_seen_within_max_age(
    remembering: None, cpo: Partner, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert push(client)[0] == 200
    with connection.cursor() as cursor:
        cursor.execute("UPDATE roaming_partner SET state = 'disabled' WHERE id = %s", [cpo.pk])
    assert push(client)[0] == 200  # still remembered: raw SQL announces nothing
    monkeypatch.setattr(known_partners, "MAX_AGE_SECONDS", 0.0)
    assert push(client)[0] == 401
