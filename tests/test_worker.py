import pytest

from config.tasks import email_send
from tests.conftest import CeleryWorker


@pytest.mark.worker
def test_real_worker_delivers_queued_email(celery_worker: CeleryWorker) -> None:
    result = email_send.apply_async(
        kwargs={
            "subject": "Your receipt",
            "body": "Thanks for charging with Plugway.",
            "html_body": None,
            "to": ["driver@example.com"],
        },
        queue=celery_worker.queue,
    )
    result.get(timeout=30)
    [delivered] = list(celery_worker.mail_dir.iterdir())
    message = delivered.read_text()
    assert "Subject: Your receipt" in message
    assert "To: driver@example.com" in message
    assert "Thanks for charging with Plugway." in message
