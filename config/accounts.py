"""django-allauth glue: account email leaves through the Celery worker (queued in the outbox), and
allauth's limits key on our one client identity (`config.clients.client_ip`)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from config.clients import client_ip
from config.outbox import task_enqueue
from config.tasks import email_send


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth has no types
    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        html_body = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            None,
        )
        task_enqueue(
            email_send,
            subject=message.subject,
            body=message.body,
            html_body=html_body,
            to=list(message.to),
        )
