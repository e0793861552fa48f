"""Pages: the driver's cards, completing a bank's authentication; and the Stripe webhook."""

import logging
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from payments import gateway, selectors, services
from payments.models import Payment
from payments.money import format_money

logger = logging.getLogger(__name__)


def _with_stripe_js(response: HttpResponse) -> HttpResponse:
    """Let this page (only) load Stripe.js; the origins follow settings (localstripe or Stripe)."""
    response._csp_update = gateway.stripe_js_csp()  # type: ignore[attr-defined]
    return response


@login_required
@require_http_methods(["GET", "POST"])
def payment_methods(request: HttpRequest) -> HttpResponse:
    """List, add (Stripe.js posts the confirmed SetupIntent here), make default, remove."""
    user = request.user
    assert user.is_authenticated
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "save":
                saved = services.payment_method_save(
                    user=user,
                    setup_intent_id=request.POST.get("setup_intent", ""),
                    make_default=request.POST.get("make_default") == "on",
                )
                messages.success(request, _("%(card)s is saved.") % {"card": saved})
            elif action in ("default", "remove"):
                card_id = request.POST.get("payment_method", "")
                # A tampered or stale form may send anything; only an id can be a card.
                card = (
                    selectors.payment_methods_for_user(user=user).filter(pk=card_id).first()
                    if re.fullmatch(r"[0-9]{1,18}", card_id)
                    else None
                )
                if card is None:
                    messages.info(request, _("That card is no longer on your account."))
                elif action == "default":
                    services.payment_method_default_set(user=user, payment_method=card)
                    messages.success(
                        request, _("%(card)s is now your default card.") % {"card": card}
                    )
                else:
                    services.payment_method_remove(user=user, payment_method_id=card.pk)
                    messages.success(request, _("%(card)s is removed.") % {"card": card})
            else:
                messages.error(request, _("That action is not available here."))
        except services.PaymentError as exc:
            messages.error(request, exc.message)
        return redirect("payment_methods")
    account = selectors.billing_account_for_user(user=user)
    return _with_stripe_js(
        render(
            request,
            "payments/payment_methods.html",
            {
                "cards": selectors.payment_methods_for_user(user=user),
                "default_id": account.default_payment_method_id if account else None,
                "stripe_js_url": gateway.stripe_js_url(),
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            },
        )
    )


@login_required
@require_POST
def payment_method_setup(request: HttpRequest) -> JsonResponse:
    """Start adding a card: the SetupIntent's client secret for Stripe.js."""
    assert request.user.is_authenticated
    try:
        setup = services.payment_method_setup_start(user=request.user)
    except services.PaymentError as exc:
        return JsonResponse({"error": exc.message}, status=503 if exc.retryable else 400)
    return JsonResponse({"client_secret": setup.client_secret})


@login_required
@require_http_methods(["GET", "POST"])
def payment_authenticate(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Where a driver confirms a hold their bank wants to authenticate (3-D Secure).

    Stripe.js runs the bank's challenge, then the page posts back and we re-read the
    PaymentIntent. `?next=` (a local URL) is where the driver goes once the hold is in place.
    """
    assert request.user.is_authenticated
    payment = selectors.payment_for_user(user=request.user, payment_id=payment_id)
    if payment is None:
        raise Http404(_("No such payment on your account."))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST":
        try:
            payment = services.payment_sync(payment=payment, source="driver authentication")
        except services.PaymentError as exc:
            messages.error(request, exc.message)
            return redirect(request.get_full_path())
        if payment.status == Payment.Status.REQUIRES_CAPTURE:
            messages.success(
                request,
                _("Thank you, your bank confirmed the hold of %(amount)s. You can start charging.")
                % {"amount": format_money(payment.amount, payment.currency)},
            )
            if next_url:
                return HttpResponseRedirect(next_url)
        elif payment.status == Payment.Status.REQUIRES_ACTION:
            messages.error(
                request, _("Your bank has not confirmed the payment yet. Try again below.")
            )
        else:
            messages.error(
                request,
                _(
                    "Your bank did not confirm the payment, so no hold was placed. Try again "
                    "with another card."
                ),
            )
        url = reverse("payment_authenticate", args=[payment.pk])
        return redirect(f"{url}?next={next_url}" if next_url else url)
    client_secret = ""
    if payment.status == Payment.Status.REQUIRES_ACTION and payment.stripe_payment_intent_id:
        try:
            client_secret = gateway.payment_intent_retrieve(
                payment.stripe_payment_intent_id
            ).client_secret
        except services.PaymentError as exc:
            messages.error(request, exc.message)
    return _with_stripe_js(
        render(
            request,
            "payments/authenticate.html",
            {
                "payment": payment,
                "amount": format_money(payment.amount, payment.currency),
                "client_secret": client_secret,
                "payment_method_id": payment.payment_method.stripe_payment_method_id
                if payment.payment_method
                else "",
                "next": next_url,
                "stripe_js_url": gateway.stripe_js_url(),
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            },
        )
    )


@csrf_exempt  # Stripe cannot send our CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, store the event once with its processing (the outbox), answer at once."""
    try:
        event = gateway.webhook_event_construct(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except ValueError as exc:
        logger.warning(
            "Rejected a Stripe webhook from %s: %s", request.META.get("REMOTE_ADDR"), exc
        )
        return HttpResponseBadRequest("Invalid Stripe signature.")
    _, created = services.webhook_event_record(event=event)
    return JsonResponse({"received": True, "duplicate": not created})
