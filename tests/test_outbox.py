"""The outbox (config.outbox): work is stored with the change that causes it, a request never
waits on a broker that is down, and the relay sends each row once."""

import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction

from config import outbox
from config.celery import app as celery_app
from config.models import PendingTask
from config.tasks import email_send


def receipt_mail(to: str) -> dict[str, Any]:
    return {"subject": "Your receipt", "body": "Thanks.", "html_body": None, "to": [to]}


@pytest.mark.django_db(transaction=True)
def test_work_is_stored_only_if_the_change_that_causes_it_commits() -> None:
    @transaction.atomic
    def change_that_fails() -> None:
        outbox.task_enqueue(email_send, **receipt_mail("driver@example.com"))
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert not PendingTask.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_work_is_sent_at_once_after_the_commit() -> None:
    with transaction.atomic():
        outbox.task_enqueue(email_send, **receipt_mail("driver@example.com"))
        assert mail.outbox == []  # not before the commit

    assert [m.to for m in mail.outbox] == [["driver@example.com"]]
    assert PendingTask.objects.get().sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_nothing_waits_and_the_relay_sends_the_work_once_it_is_back(
    broker_unreachable: str,
) -> None:
    started = time.monotonic()
    for n in range(20):
        with transaction.atomic():
            outbox.task_enqueue(email_send, **receipt_mail(f"driver{n}@example.com"))
    elapsed = time.monotonic() - started

    # Each .delay() used to wait 6 s for Celery's publish retries: 2 minutes for these 20.
    assert elapsed < 3.0, f"20 commits with the broker down took {elapsed:.1f} s"
    waiting = PendingTask.objects.filter(sent_at=None)
    assert waiting.count() == 20
    # The first kick met the refusal; the others left the work to the relay.
    assert waiting.exclude(last_error="").count() == 1
    assert outbox.pending_tasks_relay() == 0  # still down: nothing lost, nothing sent

    celery_app.conf.task_always_eager = True  # the broker is back (in-process here)
    assert outbox.pending_tasks_relay() == 20
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"driver{n}@example.com" for n in range(20)
    )
    assert outbox.pending_tasks_relay() == 0


@pytest.mark.django_db(transaction=True)
def test_relays_running_at_once_send_each_row_once() -> None:
    celery_app.conf.task_always_eager = False
    PendingTask.objects.bulk_create(
        PendingTask(task=email_send.name, kwargs=receipt_mail(f"d{n}@example.com"))
        for n in range(60)
    )
    celery_app.conf.task_always_eager = True
    counts: list[int] = []

    def relay() -> None:
        try:
            counts.append(outbox.pending_tasks_relay())
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 60
    assert len(mail.outbox) == 60
    assert len({m.to[0] for m in mail.outbox}) == 60
    assert not PendingTask.objects.filter(sent_at=None).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_task_does_not_stop_the_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    PendingTask.objects.create(task=email_send.name, kwargs={"unexpected": 1})
    PendingTask.objects.create(task=email_send.name, kwargs=receipt_mail("d@example.com"))

    assert outbox.pending_tasks_relay() == 2

    assert [m.to for m in mail.outbox] == [["d@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_sender_died_is_sent_again_after_its_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A relay that published but died before marking the row sent: the task runs twice,
    which every task is written to survive; a row is never lost."""
    from datetime import timedelta

    from django.utils import timezone

    row = PendingTask.objects.create(task=email_send.name, kwargs=receipt_mail("d@example.com"))
    PendingTask.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=5)
    )
    assert outbox.pending_tasks_relay() == 0  # another sender holds it

    PendingTask.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.pending_tasks_relay() == 1
    row.refresh_from_db()
    assert (row.sent_at is not None, row.attempts) == (True, 1)


@pytest.mark.django_db(transaction=True)
def test_work_with_a_countdown_is_sent_when_due(broker_unreachable: str) -> None:
    from datetime import timedelta

    from django.utils import timezone

    row = outbox.task_enqueue(email_send, countdown=60, **receipt_mail("d@example.com"))
    celery_app.conf.task_always_eager = True

    assert outbox.pending_tasks_relay() == 0  # not due
    PendingTask.objects.filter(pk=row.pk).update(not_before=timezone.now() + timedelta(seconds=5))
    assert outbox.pending_tasks_relay() == 1  # due within RELAY_AHEAD: sent with its eta
    assert [m.to for m in mail.outbox] == [["d@example.com"]]


def test_the_admin_lists_what_waits_for_the_broker(admin_client: Any) -> None:
    PendingTask.objects.create(task=email_send.name, last_error="OperationalError: refused")

    page = admin_client.get("/admin/config/pendingtask/?sent_at__isnull=True").content.decode()

    assert "config.tasks.email_send" in page
    assert "OperationalError: refused" in page
