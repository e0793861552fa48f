"""Onboarding from the admin: register with a partner, invite one, add an open feed.

Thin views over roaming.services (`partner_register`, `partner_invite`, `feed_add`), mounted by
`PartnerAdmin`. Staff without the permission get a 403 page saying which one they lack (and
one log line, no traceback); a failed handshake says what to check, by the kind of failure.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from config.outbox import task_enqueue
from roaming.errors import NO_MUTUAL_VERSION, NOT_OCPI, REFUSED_TOKEN, UNREACHABLE, PartnerError
from roaming.models import Partner, PartnerState
from roaming.ocpi.versions import our_versions_url
from roaming.services import feed_add, partner_invite, partner_register
from roaming.tasks import partner_sync_task

logger = logging.getLogger(__name__)

# What an admin should check after each kind of failed handshake.
ADVICE = {
    UNREACHABLE: "Unreachable: nothing answered at that address in time. Check the versions URL "
    "and that the partner's server is up.",
    REFUSED_TOKEN: "Refused token: the partner did not accept token A. Check the token it gave "
    "you; some partners expect it unencoded (tick the box).",
    NO_MUTUAL_VERSION: "No mutual version: the partner speaks no OCPI version Plugway speaks.",
    NOT_OCPI: "Not OCPI: the address answered, but not as an OCPI versions endpoint. Check that "
    "it is the partner's versions URL (it often ends in /versions).",
}


class RegisterForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="How the admin will name this partner.")
    versions_url = forms.URLField(
        label="Versions URL",
        max_length=500,
        assume_scheme="https",
        help_text="Given by the partner.",
    )
    token_a = forms.CharField(label="Token A", max_length=64, help_text="Given by the partner.")
    raw_token = forms.BooleanField(
        label="Send the token unencoded",
        required=False,
        help_text="Some 2.1.1/2.2 peers expect it.",
    )


class InviteForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="How the admin will name this partner.")


class FeedForm(forms.Form):
    name = forms.CharField(max_length=100)
    locations_url = forms.URLField(label="Locations URL", max_length=500, assume_scheme="https")
    header = forms.CharField(
        label="Header",
        max_length=600,
        required=False,
        help_text='Optional, as "Name: value", e.g. "Authorization: Token abc".',
    )


def failure_text(error: PartnerError) -> str:
    """The admin's reading of a failed handshake: what to check, then what happened."""
    return f"{ADVICE.get(error.reason, 'The partner could not be added.')} ({error.message})"


def refused(request: HttpRequest, model_admin: Any, what: str) -> TemplateResponse:
    """403 for staff without the permission: a page saying so, and no traceback in the log."""
    logger.warning("refused %s to %s: no permission", what, request.user)
    context = {**page_context(request, model_admin, "Not allowed"), "what": what}
    return TemplateResponse(request, "admin/roaming/partner/refused.html", context, status=403)


def page_context(request: HttpRequest, model_admin: Any, title: str) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": Partner._meta,
    }


def form_page(
    request: HttpRequest, model_admin: Any, form: forms.Form, **texts: str
) -> TemplateResponse:
    """The one onboarding form page: `title`, `intro`, `submit` and `progress` texts."""
    context = {**page_context(request, model_admin, texts["title"]), "form": form, **texts}
    status = 400 if form.errors else 200
    return TemplateResponse(
        request, "admin/roaming/partner/onboarding.html", context, status=status
    )


def registered(data: dict[str, Any]) -> tuple[Partner, str]:
    partner = partner_register(
        name=data["name"],
        versions_url=data["versions_url"],
        token_a=data["token_a"].strip(),
        raw_token=data["raw_token"],
    )
    roles = ", ".join(str(role) for role in partner.roles.all()) or "no roles"
    return partner, f"Registered with {partner.name}: OCPI {partner.version}, {roles}."


def feed_added(data: dict[str, Any]) -> tuple[Partner, str]:
    partner = feed_add(
        name=data["name"], locations_url=data["locations_url"], header=data["header"]
    )
    return partner, f"Added the open feed {partner.name}."


@dataclass(frozen=True)
class AddPage:
    """One add-a-partner page: its form, the service call (`add` returns the partner and what
    to tell the admin, or raises PartnerError), and its texts."""

    what: str  # named to staff refused the permission
    form: type[forms.Form]
    add: Callable[[dict[str, Any]], tuple[Partner, str]]
    title: str
    intro: str
    submit: str
    progress: str = ""


REGISTER = AddPage(
    what="adding a roaming partner",
    form=RegisterForm,
    add=registered,
    title="Add a roaming partner",
    intro="Enter the versions URL and token A the partner gave you. Plugway reads its "
    "versions, picks the highest version you both speak, and exchanges credentials.",
    submit="Connect",
    progress="Connecting: reading the partner's versions, then exchanging credentials "
    "(this takes a few seconds, at most half a minute)…",
)
FEED = AddPage(
    what="adding an open feed",
    form=FeedForm,
    add=feed_added,
    title="Add an open feed",
    intro="A public OCPI locations feed, read without a handshake.",
    submit="Add the feed",
)


def add_view(request: HttpRequest, model_admin: Any, page: AddPage) -> HttpResponse:
    """On a valid POST, add the partner or feed, queue its first (full) pull, and open its
    page; a failure is said on the form, with what to check."""
    if not model_admin.has_add_permission(request):
        return refused(request, model_admin, page.what)
    form = page.form(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            partner, done = page.add(form.cleaned_data)
        except PartnerError as error:
            form.add_error(None, failure_text(error))
        else:
            task_enqueue(partner_sync_task, partner.pk, True)  # sent once the broker is up
            messages.success(request, f"{done} A full pull of its stations is queued.")
            return redirect("admin:roaming_partner_change", partner.pk)
    texts = {"title": page.title, "intro": page.intro, "submit": page.submit}
    return form_page(request, model_admin, form, progress=page.progress, **texts)


INVITE_TEXTS = {
    "title": "Invite a roaming partner",
    "intro": "Plugway makes a one-time token A for the partner to register with. Inviting the "
    "same name again, before it registers, replaces its token.",
    "submit": "Make the invitation",
    "progress": "",
}


def invite_view(request: HttpRequest, model_admin: Any) -> HttpResponse:
    if not model_admin.has_add_permission(request):
        return refused(request, model_admin, "inviting a roaming partner")
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        connected = [PartnerState.ACTIVE, PartnerState.DEGRADED, PartnerState.DISABLED]
        if Partner.objects.filter(name=name, state__in=connected).exists():
            # A new invitation would replace the token of a working connection.
            form.add_error("name", f"{name} is connected already; rotate its credentials instead.")
            return form_page(request, model_admin, form, **INVITE_TEXTS)
        partner, token_a = partner_invite(name=name)
        context = {
            **page_context(request, model_admin, f"Invitation for {partner.name}"),
            "partner": partner,
            "versions_url": our_versions_url(),
            "token_a": token_a,
        }
        # Shown once: only the token's hash is kept.
        return TemplateResponse(request, "admin/roaming/partner/invited.html", context)
    return form_page(request, model_admin, form, **INVITE_TEXTS)
