"""Project-wide Celery tasks: outgoing email, the outbox relay and housekeeping."""

from celery import shared_task
from django.core import mail
from django.core.management import call_command

from config import outbox


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_send(*, subject: str, body: str, html_body: str | None, to: list[str]) -> None:
    """Send one rendered email. Retried with backoff while the mail server is unreachable.

    Takes the rendered message rather than ids because the message (a verification link, a
    receipt) is fixed when it is queued.
    """
    message = mail.EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()


@shared_task
def expired_sessions_clear() -> None:
    """Delete expired login sessions (nightly, from beat)."""
    call_command("clearsessions")


@shared_task
def pending_tasks_relay() -> int:
    """Every few seconds from beat: send the queued work the broker did not take at once
    (see config.outbox)."""
    return outbox.pending_tasks_relay()
