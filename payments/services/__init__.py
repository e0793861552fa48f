"""Payments write paths (`<noun>_<verb>`, keyword-only). Other apps import from here.

See `payments.services.holds` for the contract the charging flow relies on.
"""

from payments.gateway import PaymentError
from payments.services.cards import (
    billing_account_get_or_create,
    payment_method_default_set,
    payment_method_remove,
    payment_method_replace,
    payment_method_save,
    payment_method_setup_start,
)
from payments.services.holds import (
    hold_capture,
    hold_estimate_update,
    hold_place,
    hold_release,
    receipt_write,
)
from payments.services.refunds import refund_issue, refundable_amount, refunds_sync
from payments.services.sync import (
    ReconcileReport,
    payment_sync,
    payments_reconcile,
    webhook_event_process,
    webhook_event_record,
)

__all__ = [
    "PaymentError",
    "ReconcileReport",
    "billing_account_get_or_create",
    "hold_capture",
    "hold_estimate_update",
    "hold_place",
    "hold_release",
    "payment_method_default_set",
    "payment_method_remove",
    "payment_method_replace",
    "payment_method_save",
    "payment_method_setup_start",
    "payment_sync",
    "payments_reconcile",
    "receipt_write",
    "refund_issue",
    "refundable_amount",
    "refunds_sync",
    "webhook_event_process",
    "webhook_event_record",
]
