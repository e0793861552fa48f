"""django-allauth glue: account email leaves through the Celery worker, after the commit, names
the site from settings (SITE_NAME, SITE_URL's host; we run without django.contrib.sites), and
allauth's limits key on our one client identity (`config.clients.client_ip`)."""

from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from config.clients import client_ip
from config.tasks import email_send


@dataclass(frozen=True, slots=True)
class PublicSite:
    """What allauth's emails read as `current_site`."""

    name: str
    domain: str


def public_site() -> PublicSite:
    return PublicSite(settings.SITE_NAME, urlsplit(settings.SITE_URL).netloc)


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth has no types
    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(
            template_prefix, email, {"email": email, "current_site": public_site(), **context}
        )
        html_body = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            None,
        )
        transaction.on_commit(
            partial(
                email_send.delay,
                subject=message.subject,
                body=message.body,
                html_body=html_body,
                to=list(message.to),
            )
        )
