"""Saved cards: the Stripe customer, adding a card through a SetupIntent, default, removal."""

import re

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext

from payments import gateway
from payments.gateway import PaymentError
from payments.models import BillingAccount, Payment, PaymentMethod

OPEN_STATUSES = (
    Payment.Status.PENDING,
    Payment.Status.REQUIRES_ACTION,
    Payment.Status.REQUIRES_CAPTURE,
    Payment.Status.CAPTURING,
    Payment.Status.RELEASING,
)


@transaction.atomic
def billing_account_get_or_create(*, user: User) -> BillingAccount:
    """The user's billing account (one per user), created empty on first use."""
    account, _ = BillingAccount.objects.get_or_create(user=user)
    return account


def billing_account_customer_ensure(*, user: User) -> BillingAccount:
    """The account, with its Stripe customer created on first need.

    The account row stays locked while the customer is created so two tabs never make two
    customers (real Stripe also de-duplicates through the `customer-<user id>` key).
    """
    account = billing_account_get_or_create(user=user)
    if account.stripe_customer_id:
        return account
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(pk=account.pk)
        if not account.stripe_customer_id:
            account.stripe_customer_id = gateway.customer_create(
                user_id=user.pk, email=getattr(user, "email", "")
            )
            account.save(update_fields=["stripe_customer_id", "updated_at"])
    return account


def payment_method_setup_start(*, user: User) -> gateway.SetupIntent:
    """Start adding a card: a SetupIntent for off-session use, confirmed by Stripe.js.

    The browser gets `client_secret`; once Stripe.js has confirmed it, the page posts the
    SetupIntent id to `payment_method_save`.
    """
    account = billing_account_customer_ensure(user=user)
    assert account.stripe_customer_id
    return gateway.setup_intent_create(customer_id=account.stripe_customer_id)


@transaction.atomic
def payment_method_save(
    *, user: User, setup_intent_id: str, make_default: bool = False
) -> PaymentMethod:
    """Save the card a confirmed SetupIntent carries; saving the same one again changes nothing.

    Refuses a SetupIntent of another customer (the id comes from the browser). Attaches the card
    to the customer when Stripe has not (localstripe never does). The first card becomes the
    default.
    """
    account = BillingAccount.objects.select_for_update().get(
        pk=billing_account_customer_ensure(user=user).pk
    )
    not_found = PaymentError(
        gettext("That card setup was not found. Add the card again."), code="setup_not_found"
    )
    if not re.fullmatch(r"seti_\w{1,250}", setup_intent_id):
        raise not_found
    try:
        setup_intent = gateway.setup_intent_retrieve(setup_intent_id)
    except PaymentError as exc:
        if exc.code != "invalid_request":
            raise
        raise not_found from exc
    if setup_intent.customer != account.stripe_customer_id:
        raise PaymentError(
            gettext("That card setup does not belong to your account."), code="not_yours"
        )
    if setup_intent.status == "requires_action":
        raise PaymentError(
            gettext("Your bank still wants you to confirm the card. Add it again and confirm."),
            code="authentication_required",
        )
    if setup_intent.status != "succeeded" or not setup_intent.payment_method:
        raise PaymentError(
            gettext("The card was not saved. Add it again, or use another card."),
            code="setup_incomplete",
        )
    existing = PaymentMethod.objects.filter(
        stripe_payment_method_id=setup_intent.payment_method
    ).first()
    if existing is not None:
        if existing.account_id != account.pk:
            raise PaymentError(gettext("That card belongs to another account."), code="not_yours")
        card = None
        payment_method = existing
    else:
        card = gateway.payment_method_retrieve(setup_intent.payment_method)
        if card.customer != account.stripe_customer_id:
            card = gateway.payment_method_attach(
                payment_method_id=card.id, customer_id=account.stripe_customer_id or ""
            )
        payment_method = PaymentMethod.objects.create(
            account=account,
            stripe_payment_method_id=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )
    if card is not None and (make_default or account.default_payment_method_id is None):
        _default_set(account, payment_method)
    return payment_method


def _default_set(account: BillingAccount, payment_method: PaymentMethod | None) -> None:
    gateway.customer_default_payment_method_set(
        customer_id=account.stripe_customer_id or "",
        payment_method_id=payment_method.stripe_payment_method_id if payment_method else None,
    )
    account.default_payment_method = payment_method
    account.save(update_fields=["default_payment_method", "updated_at"])


@transaction.atomic
def payment_method_default_set(*, user: User, payment_method: PaymentMethod) -> PaymentMethod:
    """Make one of the user's cards the one holds are placed on."""
    account = BillingAccount.objects.select_for_update().get(user=user)
    if payment_method.account_id != account.pk:
        raise PaymentError(gettext("That card belongs to another account."), code="not_yours")
    if account.default_payment_method_id != payment_method.pk:
        _default_set(account, payment_method)
    return payment_method


@transaction.atomic
def payment_method_remove(*, user: User, payment_method_id: int) -> None:
    """Remove a card (detached at Stripe, deleted here); removing it again changes nothing.

    Refused while a charge on the card is still open. When the default goes, the newest other
    card becomes the default.
    """
    account = BillingAccount.objects.select_for_update().get(user=user)
    payment_method = account.payment_methods.filter(pk=payment_method_id).first()
    if payment_method is None:
        return
    if payment_method.payments.filter(status__in=OPEN_STATUSES).exists():
        raise PaymentError(
            gettext("This card has a charge in progress. Remove it once the charge has finished."),
            code="card_in_use",
        )
    try:
        gateway.payment_method_detach(payment_method.stripe_payment_method_id)
    except PaymentError as exc:
        # Already detached (e.g. in the Dashboard) is fine; anything else stops the removal.
        if exc.code != "invalid_request":
            raise
    was_default = account.default_payment_method_id == payment_method.pk
    payment_method.delete()
    if was_default:
        _default_set(account, account.payment_methods.first())


def payment_method_replace(
    *, user: User, old_payment_method_id: int, setup_intent_id: str
) -> PaymentMethod:
    """Save a new card as the default and remove the old one (e.g. a renewed card)."""
    new = payment_method_save(user=user, setup_intent_id=setup_intent_id, make_default=True)
    payment_method_default_set(user=user, payment_method=new)
    if new.pk != old_payment_method_id:
        payment_method_remove(user=user, payment_method_id=old_payment_method_id)
    return new
