"""On a real Celery worker (Redis): the beat task that ends overdue commands times out a start
with no result and releases its hold."""

from datetime import timedelta
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from roaming.models import ChargingSession
from roaming.tasks import commands_expire_task
from tests.conftest import CeleryWorker
from tests.payments.conftest import LocalStripe
from tests.roaming.charging import hold_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(
    worker_database: None, monkeypatch: pytest.MonkeyPatch, localstripe: LocalStripe
) -> None:
    """The worker process must use this test's database and localstripe."""
    monkeypatch.setenv("STRIPE_API_BASE", localstripe.url)


def test_the_beat_task_times_out_a_start_with_no_result_on_a_real_worker(
    worker_env: None, charging_net_factory: Any, settings: Settings, celery_worker: CeleryWorker
) -> None:
    settings.CHARGING_COMMAND_GRACE = timedelta(seconds=0)
    net = charging_net_factory(command_delay=600, command_timeout=0)
    client = net.client(net.driver())
    status, body = net.start(client, net.evse())
    assert status == 201, body
    assert body["state"] == "accepted"

    ended = commands_expire_task.apply_async(queue=celery_worker.queue).get(timeout=60)

    assert ended == 1
    session = ChargingSession.objects.get(public_id=body["id"])
    assert session.state == "timed_out"
    assert hold_status(net.localstripe, session) == "canceled"
    assert net.show(client, body["id"])["message"].startswith("The charger did not answer.")
