"""The Celery app for the billing retry storm (tests/roaming/test_billing_storm.py): the
project's own app and tasks, with crashes injected where a crash costs the most.

Each worker child dies (`os._exit`, no clean-up, as a killed process) with probability
STORM_CRASH_RATE at two points: right after Stripe captured a hold and before we recorded it
(the payment row still says `capturing`), and after the capture was recorded but before the
CDR was marked billed. Celery then redelivers the task (acks late, reject on worker lost).
"""

import os
import random
import time
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init

from config.celery import app

app.conf.task_default_queue = os.environ["STORM_QUEUE"]
# A child that died leaves its task unanswered; Celery waits this long (10 s by default) for a
# result it may have sent before it gives the task up as lost and has it redelivered.
app.conf.worker_lost_wait = 0.5
CRASH_RATE = float(os.environ.get("STORM_CRASH_RATE", "0.1"))


def _maybe_crash(where: str) -> None:
    """Die here now and then, leaving a note in STORM_CRASH_DIR so the test can count."""
    if random.random() < CRASH_RATE:  # noqa: S311 - a test's dice, not a secret
        note = Path(os.environ["STORM_CRASH_DIR"]) / f"{where}-{os.getpid()}-{time.time_ns()}"
        note.touch()
        os._exit(1)


@worker_process_init.connect
def _inject_crashes(**_: Any) -> None:
    """In each forked child, once Django is ready."""
    from payments import gateway
    from roaming.services import cdrs

    random.seed()
    capture, receipt_write = gateway.payment_intent_capture, cdrs.receipt_write

    def capture_then_maybe_crash(**kwargs: Any) -> Any:
        captured = capture(**kwargs)
        _maybe_crash("after-capture")  # Stripe has captured; our row still says capturing
        return captured

    def maybe_crash_then_receipt_write(**kwargs: Any) -> Any:
        _maybe_crash("before-billed")  # the capture is committed; the CDR is not billed yet
        return receipt_write(**kwargs)

    gateway.payment_intent_capture = capture_then_maybe_crash
    cdrs.receipt_write = maybe_crash_then_receipt_write
