"""Payments reads."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from payments.models import BillingAccount, Payment, PaymentMethod


def billing_account_for_user(*, user: User) -> BillingAccount | None:
    return BillingAccount.objects.filter(user=user).select_related("default_payment_method").first()


def payment_methods_for_user(*, user: User) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(account__user=user)


def payment_for_user(*, user: User, payment_id: int) -> Payment | None:
    return Payment.objects.filter(account__user=user, pk=payment_id).first()
