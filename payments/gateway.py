"""The one module that talks to Stripe (and the only one importing `stripe`).

Everything leaves as small dataclasses, and every Stripe failure as a `PaymentError` whose
message a driver can act on. The client is built from settings: `STRIPE_API_BASE` points it at
localstripe in the embedded setup and in tests.

The SDK's own retries are off (`max_network_retries=0`): callers pass idempotency keys derived
from our ids, and retrying is the job of our services and Celery tasks, which know whether a
repeat is safe. localstripe ignores idempotency keys, so services never rely on them alone:
they claim the row first and re-read Stripe's object when a call's outcome is unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)

STRIPE_JS_URL = "https://js.stripe.com/v3/"


class PaymentError(Exception):
    """A payment step failed; `message` is written for the driver (or the admin) to act on.

    `code` is stable for programs (`card_declined`, `authentication_required`, `in_progress`,
    `gateway_unavailable`, ...). `retryable` says whether the same call may succeed later
    unchanged (the gateway was unreachable, another worker holds the payment), and
    `retry_after` in how many seconds, when that is known (another worker's claim on the
    payment ends then). `detail` keeps Stripe's own wording for the logs.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool = False,
        detail: str = "",
        payment_intent_id: str | None = None,
        payment_id: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.detail = detail
        self.payment_intent_id = payment_intent_id
        self.payment_id = payment_id
        self.retry_after = retry_after


CARD_MESSAGES = {
    "authentication_required": "Your bank wants you to confirm this payment before we can "
    "place the hold. Confirm it, then start again.",
    "insufficient_funds": "Your card was declined for insufficient funds. Use another card.",
    "expired_card": "Your card has expired. Add a current card in Payment methods.",
    "incorrect_cvc": "Your card's security code was not accepted. Add the card again.",
    "incorrect_number": "Your card number was not accepted. Add the card again.",
    "invalid_expiry_month": "Your card's expiry date was not accepted. Add the card again.",
    "invalid_expiry_year": "Your card's expiry date was not accepted. Add the card again.",
    "processing_error": "Your bank could not process the payment just now. Try again in a moment.",
}
DECLINED = "Your card was declined. Use another card, or ask your bank why."
UNREACHABLE = "We could not reach our payment provider. Try again in a moment."


@dataclass(frozen=True)
class Card:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer: str | None


@dataclass(frozen=True)
class SetupIntent:
    id: str
    status: str
    client_secret: str
    customer: str | None
    payment_method: str | None


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str
    customer: str | None
    payment_method: str | None
    # What was captured, when Stripe says (real Stripe: amount_received; localstripe omits it).
    amount_received: int | None
    last_error_code: str
    last_error_message: str
    capture_before: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    currency: str
    status: str
    payment_intent: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Capture:
    """Money Stripe took: a captured charge (of a hold, or of a charge above one)."""

    charge_id: str
    payment_intent_id: str | None
    amount: int
    currency: str
    created: datetime


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object_id: str
    payload: dict[str, Any]


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    base_addresses: Any = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    """The StripeClient for the current settings (tests point STRIPE_API_BASE elsewhere)."""
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT)


def stripe_js_url() -> str:
    """Stripe.js for the browser: localstripe serves its stand-in under the API base."""
    base = settings.STRIPE_API_BASE
    return f"{base}/js.stripe.com/v3/" if base else STRIPE_JS_URL


def stripe_js_csp() -> dict[str, list[str]]:
    """The CSP additions Stripe.js needs, and no more.

    Stripe's list: docs.stripe.com/security/guide#content-security-policy. localstripe's
    stand-in script and API live on one loopback origin.
    """
    base = settings.STRIPE_API_BASE
    if base:
        return {"script-src": [base], "connect-src": [base]}
    return {
        "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
        "frame-src": [
            "https://js.stripe.com",
            "https://*.js.stripe.com",
            "https://hooks.stripe.com",
        ],
        "connect-src": ["https://api.stripe.com"],
    }


def _translate(exc: stripe.StripeError, *, action: str) -> PaymentError:
    """A PaymentError for a Stripe exception, with the PaymentIntent id when Stripe gives one."""
    detail = f"{action}: {type(exc).__name__} {exc.http_status} {exc.code} {exc.user_message}"
    pi_id = None
    error = getattr(exc, "error", None)
    if error is not None and getattr(error, "payment_intent", None):
        pi = error.payment_intent
        pi_id = pi["id"] if not isinstance(pi, str) else pi
    if isinstance(exc, stripe.CardError):
        code = (
            exc.code
            if exc.code in CARD_MESSAGES
            else (getattr(error, "decline_code", None) or exc.code or "card_declined")
        )
        if code not in CARD_MESSAGES:
            return PaymentError(
                DECLINED, code="card_declined", detail=detail, payment_intent_id=pi_id
            )
        return PaymentError(
            CARD_MESSAGES[code],
            code=code,
            retryable=code == "processing_error",
            detail=detail,
            payment_intent_id=pi_id,
        )
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return PaymentError(UNREACHABLE, code="gateway_unavailable", retryable=True, detail=detail)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        logger.error("Stripe refused our credentials (%s)", detail)
        return PaymentError(
            "Payments are not available right now because of a problem on our side; we are on it.",
            code="configuration",
            detail=detail,
        )
    return PaymentError(
        "The payment provider refused this request. Try again, or contact support if it "
        "keeps happening.",
        code="invalid_request",
        detail=detail,
        payment_intent_id=pi_id,
    )


def _call(action: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except stripe.StripeError as exc:
        error = _translate(exc, action=action)
        logger.info("Stripe %s failed: %s", action, error.detail)
        raise error from exc


def _value(obj: Any, key: str, default: Any = None) -> Any:
    """`obj[key]` for a StripeObject or dict, `default` when absent (SDK 15+ has no .get())."""
    if obj is None:
        return default
    try:
        return obj[key]
    except (KeyError, TypeError, AttributeError):
        return default


def _metadata(obj: Any) -> dict[str, str]:
    metadata = _value(obj, "metadata")
    if metadata is None:
        return {}
    plain = metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)
    return {str(k): str(v) for k, v in plain.items()}


def _id(value: Any) -> str | None:
    """An id for a field Stripe sends either as an id or as an expanded object."""
    if value is None or isinstance(value, str):
        return value
    found: str | None = _value(value, "id")
    return found


def _card(pm: Any) -> Card:
    card = _value(pm, "card", {})
    return Card(
        id=pm["id"],
        brand=str(_value(card, "brand", "card")),
        last4=str(_value(card, "last4", "")),
        exp_month=int(_value(card, "exp_month", 0)),
        exp_year=int(_value(card, "exp_year", 0)),
        customer=_id(_value(pm, "customer")),
    )


def _setup_intent(si: Any) -> SetupIntent:
    return SetupIntent(
        id=si["id"],
        status=si["status"],
        client_secret=si["client_secret"],
        customer=_id(_value(si, "customer")),
        payment_method=_id(_value(si, "payment_method")),
    )


def _payment_intent(pi: Any) -> PaymentIntent:
    error = _value(pi, "last_payment_error")
    charge = _value(pi, "latest_charge")
    # capture_before only comes with an expanded charge (real Stripe); localstripe has none.
    card_details = _value(_value(charge, "payment_method_details"), "card")
    capture_before = _value(card_details, "capture_before")
    return PaymentIntent(
        id=pi["id"],
        status=pi["status"],
        amount=int(pi["amount"]),
        currency=str(pi["currency"]).lower(),
        client_secret=str(_value(pi, "client_secret", "")),
        customer=_id(_value(pi, "customer")),
        payment_method=_id(_value(pi, "payment_method")),
        amount_received=_value(pi, "amount_received"),
        last_error_code=str(_value(error, "code", "") or ""),
        last_error_message=str(_value(error, "message", "") or ""),
        capture_before=datetime.fromtimestamp(capture_before, tz=UTC) if capture_before else None,
        metadata=_metadata(pi),
    )


def _refund(refund: Any) -> Refund:
    return Refund(
        id=refund["id"],
        amount=int(refund["amount"]),
        currency=str(refund["currency"]).lower(),
        status=str(refund["status"]),
        payment_intent=_id(_value(refund, "payment_intent")),
        metadata=_metadata(refund),
    )


def customer_create(*, user_id: int, email: str) -> str:
    """Create the Stripe customer for one of our users; returns its id."""
    customer = _call(
        "create customer",
        client().v1.customers.create,
        params={"email": email, "metadata": {"user_id": str(user_id)}},
        options={"idempotency_key": f"customer-{user_id}"},
    )
    return str(customer["id"])


def customer_default_payment_method_set(*, customer_id: str, payment_method_id: str | None) -> None:
    _call(
        "set the default card",
        client().v1.customers.update,
        customer_id,
        params={"invoice_settings": {"default_payment_method": payment_method_id or ""}},
    )


def setup_intent_create(*, customer_id: str) -> SetupIntent:
    """A SetupIntent to save a card for later off-session holds."""
    si = _call(
        "start saving a card",
        client().v1.setup_intents.create,
        params={"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]},
    )
    return _setup_intent(si)


def setup_intent_retrieve(setup_intent_id: str) -> SetupIntent:
    return _setup_intent(
        _call("read the card setup", client().v1.setup_intents.retrieve, setup_intent_id)
    )


def payment_method_retrieve(payment_method_id: str) -> Card:
    return _card(_call("read the card", client().v1.payment_methods.retrieve, payment_method_id))


def payment_method_attach(*, payment_method_id: str, customer_id: str) -> Card:
    pm = _call(
        "save the card",
        client().v1.payment_methods.attach,
        payment_method_id,
        params={"customer": customer_id},
    )
    return _card(pm)


def payment_method_detach(payment_method_id: str) -> None:
    _call("remove the card", client().v1.payment_methods.detach, payment_method_id)


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    manual_capture: bool,
    metadata: dict[str, str],
    idempotency_key: str,
) -> PaymentIntent:
    """Create and confirm an off-session PaymentIntent (a hold when `manual_capture`)."""
    pi = _call(
        "place the payment",
        client().v1.payment_intents.create,
        params={
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "payment_method": payment_method_id,
            "capture_method": "manual" if manual_capture else "automatic",
            "confirm": True,
            "off_session": True,
            "metadata": metadata,
        },
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(pi)


def payment_intent_retrieve(payment_intent_id: str) -> PaymentIntent:
    return _payment_intent(
        _call("read the payment", client().v1.payment_intents.retrieve, payment_intent_id)
    )


def payment_intent_capture(
    *, payment_intent_id: str, amount: int, idempotency_key: str
) -> PaymentIntent:
    pi = _call(
        "capture the payment",
        client().v1.payment_intents.capture,
        payment_intent_id,
        params={"amount_to_capture": amount},
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(pi)


def payment_intent_cancel(*, payment_intent_id: str, idempotency_key: str) -> PaymentIntent:
    pi = _call(
        "release the hold",
        client().v1.payment_intents.cancel,
        payment_intent_id,
        options={"idempotency_key": idempotency_key},
    )
    return _payment_intent(pi)


def refund_create(
    *, payment_intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]
) -> Refund:
    """Refund `amount` (always explicit: without one, some servers refund the whole charge)."""
    refund = _call(
        "refund",
        client().v1.refunds.create,
        params={"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
    )
    return _refund(refund)


def refund_list(payment_intent_id: str) -> list[Refund]:
    """Refunds on a PaymentIntent. Releases of an uncaptured remainder (localstripe records
    them as refunds without a payment_intent) are left out."""
    refunds = _call(
        "list refunds",
        client().v1.refunds.list,
        params={"payment_intent": payment_intent_id, "limit": 100},
    )
    return [_refund(r) for r in refunds.auto_paging_iter() if _id(_value(r, "payment_intent"))]


def charge_payment_intent_id(charge_id: str) -> str | None:
    """The PaymentIntent a charge belongs to."""
    charge = _call("read the charge", client().v1.charges.retrieve, charge_id)
    return _id(_value(charge, "payment_intent"))


def captures_list(*, since: datetime) -> list[Capture]:
    """Every captured charge created after `since`, for reconciliation (all pages)."""
    charges = _call(
        "list charges",
        client().v1.charges.list,
        params={"created": {"gt": int(since.timestamp())}, "limit": 100},
    )
    return [
        Capture(
            charge_id=str(charge["id"]),
            payment_intent_id=_id(_value(charge, "payment_intent")),
            # localstripe has no amount_captured; it records an uncaptured rest as refunded.
            amount=int(
                _value(charge, "amount_captured")
                or int(charge["amount"]) - int(_value(charge, "amount_refunded", 0) or 0)
            ),
            currency=str(charge["currency"]).lower(),
            created=datetime.fromtimestamp(int(charge["created"]), tz=UTC),
        )
        for charge in charges.auto_paging_iter()
        if _value(charge, "captured")
    ]


def webhook_event_construct(*, payload: bytes, signature: str) -> Event:
    """Verify a webhook's signature and timestamp; raises ValueError when it isn't Stripe's."""
    try:
        event = client().construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(f"bad signature: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise ValueError(f"unreadable payload: {exc}") from exc
    data_object = _value(_value(event, "data"), "object")
    return Event(
        id=str(event["id"]),
        type=str(event["type"]),
        object_id=str(_value(data_object, "id", "")),
        payload=event.to_dict(),
    )
