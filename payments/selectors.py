"""Payments reads."""

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import CombinedExpression

from payments import gateway
from payments.models import BillingAccount, Payment, PaymentMethod


def billing_account_for_user(*, user: User) -> BillingAccount | None:
    return BillingAccount.objects.filter(user=user).select_related("default_payment_method").first()


def payment_methods_for_user(*, user: User) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(account__user=user)


def payment_for_user(*, user: User, payment_id: int) -> Payment | None:
    return Payment.objects.filter(account__user=user, pk=payment_id).first()


# --- a driver's standing, for other apps' queries -------------------------------------------
# Written as SQL expressions so a caller can judge many drivers (or one, fast) in one query of
# its own rows: pass `user=OuterRef("user_id")` from that query, or a user.


def card_expiry() -> CombinedExpression:
    """A billing account's default card's last month to be charged in, as `year * 100 +
    month` (202712 for a card printed 12/27)."""
    return F("default_payment_method__exp_year") * 100 + F("default_payment_method__exp_month")


def default_card_expiry(*, user: Any) -> Subquery:
    """The `card_expiry` of the user's default card; NULL when the user has no default card."""
    return Subquery(
        BillingAccount.objects.filter(user=user, default_payment_method__isnull=False)
        .annotate(expiry=card_expiry())
        .values("expiry")[:1],
        output_field=IntegerField(),
    )


def card_usable_user_ids(*, today: date) -> QuerySet[BillingAccount, int]:
    """The ids of the users whose default card can be charged today (a subquery for `__in`)."""
    return (
        BillingAccount.objects.filter(default_payment_method__isnull=False)
        .annotate(expiry=card_expiry())
        .filter(expiry__gte=today.year * 100 + today.month)
        .values_list("user_id", flat=True)
    )


def card_expiry_usable(*, expiry: int | None, today: date) -> bool:
    """Whether a card with this `default_card_expiry` can be charged today (a card is good
    until the end of the month printed on it)."""
    return expiry is not None and expiry >= today.year * 100 + today.month


def unpaid_payments() -> QuerySet[Payment]:
    """Payments that left their driver owing money: a charge above a hold that failed, or a
    hold asked to capture an amount that ended failed or released without capturing it. One
    stops counting once a later payment for the same reference was captured."""
    settled = Payment.objects.filter(
        reference=OuterRef("reference"), status=Payment.Status.CAPTURED, pk__gt=OuterRef("pk")
    )
    return Payment.objects.filter(
        Q(kind=Payment.Kind.EXCESS, status=Payment.Status.FAILED)
        | Q(
            kind=Payment.Kind.HOLD,
            amount_to_capture__gt=0,
            amount_captured=0,
            status__in=(Payment.Status.FAILED, Payment.Status.CANCELED),
        )
    ).exclude(Exists(settled))


def unpaid_user_ids() -> QuerySet[Payment, int]:
    """The ids of the users who owe money from a failed payment (a subquery for `__in`)."""
    return unpaid_payments().values_list("account__user_id", flat=True)


def unpaid_exists(*, user: Any) -> Exists:
    """Whether the user owes money from a failed payment (see `unpaid_payments`)."""
    return Exists(unpaid_payments().filter(account__user=user))


def stripe_captures(*, since: datetime) -> list[gateway.Capture]:
    """What Stripe captured since `since`, as Stripe has it (for reconciliation; raises
    PaymentError when Stripe is unreachable)."""
    return gateway.captures_list(since=since)
