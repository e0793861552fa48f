"""Celery tasks: thin, take ids, safe to run twice."""

import logging
from typing import Any

from celery import shared_task

from payments import services
from payments.gateway import PaymentError

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(PaymentError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def webhook_event_process(event_pk: int) -> str:
    """Process one stored Stripe event (retried with backoff while Stripe is unreachable)."""
    return services.webhook_event_process(event_pk=event_pk).status


@shared_task
def payments_reconcile() -> dict[str, Any]:
    """Beat: capture or release holds near their deadline, resume interrupted calls, report
    payments whose state differs from Stripe's."""
    report = services.payments_reconcile()
    if report.differences:
        logger.warning("payments differing from Stripe: %s", report.as_dict()["differences"])
    return report.as_dict()
