"""The outbox: work to be done is stored with the change that causes it, and sent to Celery
once the broker takes it.

Nothing in a request or a service waits on the broker. `task_enqueue(task, *args)` writes a
`PendingTask` row in the caller's transaction, so the change and the work it causes commit
together or not at all (a CDR and its billing, a Stripe event and its processing). After the
commit a best-effort kick sends the row at once. With the broker down the kick fails at the
first refusal (no publish retries: Celery's own would hold the request for 6 s), leaves the row
for later, and this process stops kicking for `BROKER_BACKOFF`, so requests do not each pay a
connection timeout.

Beat runs `pending_tasks_relay` every few seconds: it sends every row left unsent, oldest
first, and stops at the first broker failure. Each send claims its row with a conditional
UPDATE (a lease, `CLAIM_LEASE`), so two relays, or a relay and a kick, never send one row at
once; a sender that dies between publishing and marking the row sent leaves the lease to
expire and the row is sent again. Tasks are therefore safe to run twice (they take ids and
re-read their rows), as the house style asks of every task anyway.

The model lives in `config` (the project's own app) because locator, payments and roaming all
queue work through it, and none of them may import another to do so.

Embedded default (eager Celery): the kick runs the task in this process after the commit, as
`transaction.on_commit(task.delay)` did (a countdown is ignored, as eager Celery ignores it); a
task that raises is logged, not retried here.
"""

import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from celery import Task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu import Connection

from config.celery import app as celery_app
from config.models import PendingTask

logger = logging.getLogger(__name__)

# Longer than one publish can take (the broker's connect timeout is seconds).
CLAIM_LEASE = timedelta(seconds=60)
# After a failed kick, this process leaves sending to the relay for this long.
BROKER_BACKOFF = 10.0
# Sent rows are kept this long (the admin shows what was sent when), then pruned.
SENT_KEPT = timedelta(days=1)
RELAY_BATCH = 500
# The relay sends a task due this soon (with its eta), rather than at its next round.
RELAY_AHEAD = timedelta(seconds=10)

_broker_down_until = 0.0


class BrokerUnavailableError(Exception):
    """The broker did not take a message; the row stays unsent for the relay."""


def task_enqueue(
    task: Task[..., Any] | str, *args: Any, countdown: float = 0, **kwargs: Any
) -> PendingTask:
    """Queue `task(*args, **kwargs)`: stored now, in the caller's transaction, and sent to
    Celery after the commit (by the kick, else by the relay), to run no earlier than
    `countdown` seconds from now. Arguments must be JSON."""
    name = task if isinstance(task, str) else task.name
    not_before = timezone.now() + timedelta(seconds=countdown) if countdown else None
    row = PendingTask.objects.create(
        task=name, args=list(args), kwargs=kwargs, not_before=not_before
    )
    # A function, not a partial: Django names the callback when it logs a robust one's error.
    transaction.on_commit(lambda: _kick(row.pk), robust=True)
    return row


def _kick(pk: int) -> None:
    """After the commit: send the row now, unless the broker failed here a moment ago."""
    if not celery_app.conf.task_always_eager and time.monotonic() < _broker_down_until:
        return
    with _broker() as connection, contextlib.suppress(BrokerUnavailableError):
        _send(pk, connection)  # when the broker is down, the relay sends it once it is back


def _broker() -> Connection:
    """A broker connection (opened on first use) that gives up at the first refusal."""
    connection: Connection = celery_app.connection_for_write(transport_options={"max_retries": 0})
    return connection


def _send(pk: int, connection: Connection) -> bool:
    """Claim one unsent row and send it; False when it was sent or claimed by someone else.

    Raises BrokerUnavailableError (the row is left unsent and unclaimed) when the broker does
    not take it. Eager: the row is marked sent, then the task runs here and may raise.
    """
    global _broker_down_until
    now = timezone.now()
    lease = now + CLAIM_LEASE
    claimed = (
        PendingTask.objects.filter(pk=pk, sent_at=None)
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .update(claimed_until=lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    row = PendingTask.objects.get(pk=pk)
    ours = PendingTask.objects.filter(pk=pk, claimed_until=lease)
    if celery_app.conf.task_always_eager:
        ours.update(sent_at=timezone.now(), claimed_until=None)
        celery_app.tasks[row.task].apply(args=row.args, kwargs=row.kwargs, throw=True)
        return True
    try:
        celery_app.send_task(
            row.task,
            args=row.args,
            kwargs=row.kwargs,
            eta=row.not_before,
            connection=connection,
            retry=False,
            # The row is the record of the work; with a result stored, sending would first
            # subscribe to it on the result backend (Redis too), whose reconnects took 19 s
            # of this request when Redis was down.
            ignore_result=True,
        )
    except Exception as exc:  # whatever the broker raised, the row waits for the relay
        _broker_down_until = time.monotonic() + BROKER_BACKOFF
        ours.update(claimed_until=None, last_error=f"{type(exc).__name__}: {exc}"[:500])
        logger.warning("the broker did not take %s: %s", row, exc)
        raise BrokerUnavailableError(str(exc)) from exc
    ours.update(sent_at=timezone.now(), claimed_until=None, last_error="")
    return True


def pending_tasks_relay() -> int:
    """Send every unsent row, oldest first; stop at the first broker failure (beat runs this
    again in a few seconds). Prunes rows sent more than SENT_KEPT ago. Returns how many were
    sent."""
    PendingTask.objects.filter(sent_at__lt=timezone.now() - SENT_KEPT).delete()
    sent = 0
    with _broker() as connection:
        while True:
            now = timezone.now()
            ids = list(
                PendingTask.objects.filter(sent_at=None)
                .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
                .filter(Q(not_before=None) | Q(not_before__lte=now + RELAY_AHEAD))
                .order_by("id")
                .values_list("id", flat=True)[:RELAY_BATCH]
            )
            for pk in ids:
                try:
                    sent += _send(pk, connection)
                except BrokerUnavailableError:
                    return sent
                except Exception:
                    # Eager only: the row was sent and its task failed here; one failing task
                    # must not cost the rest of the relay.
                    sent += 1
                    logger.exception("pending task %s failed", pk)
            if len(ids) < RELAY_BATCH:
                return sent
