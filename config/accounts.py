"""django-allauth glue: account email leaves through the Celery worker (queued in the outbox),
names the site from settings (SITE_NAME, SITE_URL's host; we run without django.contrib.sites),
a confirmation opened in another browser says to sign in,
allauth's limits key on our one client identity (`config.clients.client_ip`), and staff reach
the admin only with two-factor authentication."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from config.clients import client_ip
from config.outbox import task_enqueue
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

    def get_email_verification_redirect_url(self, email_address: Any) -> str:
        """The confirmed driver signs in here when the link was opened in another browser
        (or after the sign-up's session ended): allauth signs in only the session that signed
        up, so a leaked link never signs anyone in. Say what to do next."""
        if not self.request.user.is_authenticated:
            messages.info(self.request, _("Now sign in with your email and password to continue."))
        url: str = super().get_email_verification_redirect_url(email_address)
        return url

    def format_email_subject(self, subject: str) -> str:
        """The subject after "[SITE_NAME] ", the name read when sending, as the bodies read it."""
        return f"[{public_site().name}] {subject}"

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
        task_enqueue(
            email_send,
            subject=message.subject,
            body=message.body,
            html_body=html_body,
            to=list(message.to),
        )


class StaffMfaMiddleware:
    """Sends a signed-in staff member without an authenticator app to set one up before the
    admin opens: a stolen staff password alone must not reach refunds and partner tokens.
    (The admin's login is allauth's, so staff who have one enter its code when signing in.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path_info.startswith(reverse("admin:index"))
            and request.user.is_staff
            and not is_mfa_enabled(request.user, [Authenticator.Type.TOTP])
        ):
            messages.info(
                request,
                "Staff accounts need two-factor authentication. Set up an authenticator app "
                "to continue to the admin.",
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
