"""Billing rows: one account per driver, saved cards, holds and their captures, refunds, receipts
and the Stripe events we received.

Money is an integer in minor units (cents) plus a lowercase ISO 4217 currency, as Stripe has it.
Stripe ids are stored next to our rows so a webhook or the reconciliation task can find the row
for any Stripe object.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.money import format_money


class BillingAccount(models.Model):
    """A driver's billing identity: their Stripe customer and default card."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_account"
    )
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    default_payment_method = models.ForeignKey(
        "PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    currency = models.CharField(max_length=3, default="eur", help_text="Preferred currency.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Billing account of {self.user}"


class PaymentMethod(models.Model):
    """A card saved for off-session use (attached to the account's Stripe customer)."""

    account = models.ForeignKey(
        BillingAccount, on_delete=models.CASCADE, related_name="payment_methods"
    )
    stripe_payment_method_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.brand_label} •••• {self.last4}"

    @property
    def brand_label(self) -> str:
        labels = {"amex": "American Express", "mastercard": "Mastercard", "visa": "Visa"}
        return labels.get(self.brand, self.brand.replace("_", " ").title() or "Card")

    @property
    def expiry_label(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"


class Payment(models.Model):
    """One PaymentIntent: a hold (manual capture) or a separate charge for an excess amount.

    State machine (the `*ing` states are claims held while a Stripe call is in flight; a claim
    whose `locked_until` has passed may be taken over, see services):

        pending ─► requires_capture ─► capturing ─► captured
           │   └─► requires_action ─┘      └──► releasing ─► canceled
           └─► failed
    """

    class Kind(models.TextChoices):
        HOLD = "hold", "Hold"
        EXCESS = "excess", "Charge above the hold"

    class Status(models.TextChoices):
        PENDING = "pending", "Being placed"
        REQUIRES_ACTION = "requires_action", "Needs the driver's authentication"
        REQUIRES_CAPTURE = "requires_capture", "Hold in place"
        CAPTURING = "capturing", "Being captured"
        RELEASING = "releasing", "Being released"
        CAPTURED = "captured", "Captured"
        CANCELED = "canceled", "Released"
        FAILED = "failed", "Failed"

    FINAL = (Status.CAPTURED, Status.CANCELED, Status.FAILED)

    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.HOLD)
    reference = models.CharField(
        max_length=100, help_text='What the money is for, e.g. "session-42" (set by the caller).'
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="excess_charges"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    amount = models.PositiveIntegerField(help_text="Authorised amount, minor units.")
    currency = models.CharField(max_length=3)
    amount_captured = models.PositiveIntegerField(default=0)
    amount_to_capture = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requested by the capture in flight (or done)."
    )
    estimated_amount = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The caller's running estimate; captured if the hold nears its deadline.",
    )
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    card_label = models.CharField(max_length=64, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    capture_before = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live hold (and one excess charge) per reference; a failed attempt does not
            # count: its row stays as history and a new attempt (another card, its own
            # idempotency key) may follow it.
            models.UniqueConstraint(
                fields=["reference", "kind"],
                condition=~Q(status="failed"),
                name="payments_one_live_payment_per_reference",
            ),
            models.CheckConstraint(
                condition=Q(amount_captured__lte=models.F("amount")),
                name="payments_captured_at_most_authorised",
            ),
        ]
        indexes = [models.Index(fields=["status", "capture_before"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference} ({self.amount_label})"

    @property
    def amount_label(self) -> str:
        return format_money(self.amount, self.currency)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Refund(models.Model):
    """Money given back on a captured payment, always with an explicit amount."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being issued"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    failure_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refund of {format_money(self.amount, self.currency)} on {self.payment}"


class Receipt(models.Model):
    """What the driver paid for one reference: written when a hold is captured."""

    number = models.CharField(max_length=32, unique=True)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="receipts")
    amount = models.PositiveIntegerField(help_text="Total charged, minor units.")
    currency = models.CharField(max_length=3)
    card_label = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"Receipt {self.number}"


class PaymentLogEntry(models.Model):
    """Why something happened to a payment: reconciliation decisions, admin refunds, webhooks."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="log")
    action = models.CharField(max_length=32)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "payment log entries"

    def __str__(self) -> str:
        return f"{self.action}: {self.message}"


class WebhookEvent(models.Model):
    """One Stripe event, stored once (its id is unique) and processed after the commit."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (type not handled)"
        FAILED = "failed", "Failed"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"
