"""Billing survives a retry storm (issue 16): 1,000 CDRs POSTed to our receiver, each billing
message delivered up to 10 times to several real Celery worker processes that crash now and
then between Stripe's capture and our commit; localstripe over real HTTP. It ends with exactly
one capture per CDR at Stripe, every CDR billed, one receipt and one email each.

The 1,000 run is marked `slow`: the test command leaves it out, as it takes 3.5 minutes on two
quiet cores (11 on busy ones); CI runs it in a step of its own (`pytest -m slow`). The test
command runs the same storm on BILLING_STORM_CDRS (default 100), in one or two minutes.
BILLING_STORM_CRASH_RATE is the chance of a crash at each of the two points (default 0.1).
"""

import json
import os
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings

from config.celery import app as celery_app
from config.models import PendingTask
from config.outbox import pending_tasks_relay
from payments.models import Payment, Receipt
from roaming.models import ChargeDetailRecord, SessionState
from roaming.tasks import cdr_bill_task
from tests.conftest import celery_workers
from tests.payments.conftest import LocalStripe
from tests.roaming.billing import Ocpi, cdr_payload, cpo_partner, driver_make, session_make

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
# The count CI runs on every build, and the full storm it runs in a step of its own (-m slow).
BUILD_CDRS = int(os.environ.get("BILLING_STORM_CDRS", "100"))
CRASH_RATE = os.environ.get("BILLING_STORM_CRASH_RATE", "0.1")
MAX_DELIVERIES = 10
# Seconds the workers get to settle the storm, per CDR: a guard, two to three times what it
# takes on two busy cores (0.5-1 s).
STORM_SECONDS_PER_CDR = 2.0


def in_flight(client: redis.Redis, queue: str) -> int:
    """Messages of `queue` waiting, or delivered to a worker and not yet acknowledged (a retry
    waiting for its countdown, too). Kombu keeps the latter for every queue of the Redis
    database in one hash, "unacked", each as [message, exchange, routing key]."""
    unacked = sum(json.loads(entry)[2] == queue for entry in client.hvals("unacked"))
    return int(client.llen(queue)) + unacked


def shuffled(client: redis.Redis, queue: str, dice: random.Random) -> None:
    """Shuffle the messages waiting in `queue`, so the deliveries of one CDR's billing meet
    each other on different workers instead of following all the first ones."""
    messages = client.lrange(queue, 0, -1)
    dice.shuffle(messages)
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(queue)
        pipe.rpush(queue, *messages)
        pipe.execute()


@pytest.mark.parametrize(
    "cdrs",
    [
        pytest.param(BUILD_CDRS, id="build"),
        pytest.param(1000, id="1000", marks=pytest.mark.slow),
    ],
)
def test_a_retry_storm_bills_each_cdr_exactly_once(
    cdrs: int,
    worker_database: None,
    localstripe: LocalStripe,
    settings: Settings,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    queue = f"storm-{uuid.uuid4().hex[:8]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    broker = redis.Redis.from_url(settings.REDIS_URL)
    crash_dir = tmp_path / "crashes"
    crash_dir.mkdir()
    try:
        cpo = cpo_partner()
        driver = driver_make(localstripe)

        def charge_ended(_: int) -> int:
            """A finished charge with its hold, and the partner POSTing its CDR."""
            try:
                session = session_make(user=driver, partner=cpo, state=SessionState.COMPLETED)
                ocpi = Ocpi(Client(), on_commit=lambda **_: nullcontext())
                return int(ocpi.post_cdr(cdr_payload(session, kwh="10")).status_code)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(charge_ended, range(cdrs))) == {201}
        # Each CDR was stored with its billing task, and the kick sent it once; now the rest
        # of up to ten deliveries of the same message, as a storm of redeliveries would, all
        # mixed up together.
        dice = random.Random(16)  # noqa: S311 - a test's dice, not a secret
        deliveries = Counter[int]()
        with celery_app.producer_or_acquire() as producer:
            for row in PendingTask.objects.filter(task=cdr_bill_task.name):
                assert row.sent_at is not None
                deliveries[row.args[0]] = dice.randint(1, MAX_DELIVERIES)
                for _ in range(deliveries[row.args[0]] - 1):
                    celery_app.send_task(row.task, args=row.args, producer=producer)
        assert len(deliveries) == cdrs
        assert broker.llen(queue) == sum(deliveries.values())
        shuffled(broker, queue, dice)
        setup = time.monotonic() - started

        env = {
            "STORM_QUEUE": queue,
            "STORM_CRASH_RATE": CRASH_RATE,
            "STORM_CRASH_DIR": str(crash_dir),
            "STRIPE_API_BASE": localstripe.url,
            "STRIPE_SECRET_KEY": "sk_test_localstripe",
            "STRIPE_TIMEOUT": "2",
            "PAYMENTS_CLAIM_LEASE_SECONDS": "3",
        }
        billed = ChargeDetailRecord.objects.filter(billing=ChargeDetailRecord.Billing.BILLED)
        with celery_workers(
            queue,
            tmp_path / "mail",
            app="tests.roaming.storm_worker",
            count=2,
            pool="prefork",
            concurrency=2,
            env=env,
        ):
            limit = 60 + STORM_SECONDS_PER_CDR * cdrs
            deadline = time.monotonic() + limit
            while not (
                billed.count() == cdrs
                and Receipt.objects.count() == cdrs
                and in_flight(broker, queue) == 0
            ):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the storm did not settle within {limit:.0f} s: {billed.count()} of "
                        f"{cdrs} CDRs billed, {in_flight(broker, queue)} messages in flight"
                    )
                pending_tasks_relay()  # beat's relay: work a crashed child committed, unsent
                time.sleep(0.5)
        storm = time.monotonic() - started - setup
    finally:
        celery_app.conf.task_default_queue = previous_queue
        broker.delete(queue)

    crashes = Counter(
        note.name.split("-")[0] + "-" + note.name.split("-")[1] for note in crash_dir.iterdir()
    )
    print(
        f"\n{cdrs} CDRs, {sum(deliveries.values())} deliveries of their billing, "
        f"crashes {dict(crashes)}; setup {setup:.0f} s, storm {storm:.0f} s"
    )
    assert billed.count() == cdrs, "a CDR was lost"
    assert crashes["after-capture"] > 0
    assert crashes["before-billed"] > 0
    captures = localstripe.writes("/capture")
    assert len(captures) == cdrs
    assert len(set(captures)) == cdrs, "a PaymentIntent was captured twice"
    holds = Payment.objects.filter(kind=Payment.Kind.HOLD)
    assert sorted(
        f"/v1/payment_intents/{pi}/capture"
        for pi in holds.values_list("stripe_payment_intent_id", flat=True)
    ) == sorted(captures)
    for cdr in ChargeDetailRecord.objects.select_related("session__payment"):
        payment = cdr.session.payment
        assert (payment.status, payment.amount_captured) == (Payment.Status.CAPTURED, cdr.amount)
        pi = localstripe.payment_intent(payment.stripe_payment_intent_id)
        assert (pi["status"], pi["charges"]["data"][0]["captured"]) == ("succeeded", True)
    assert Receipt.objects.count() == cdrs
    assert not Payment.objects.filter(kind=Payment.Kind.EXCESS).exists()
    assert not PendingTask.objects.filter(sent_at=None).exists()
    mails = "".join(p.read_text() for p in (tmp_path / "mail").iterdir())
    assert mails.count("Subject: Your Plugway receipt") == cdrs
