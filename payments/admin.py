"""Operations admin: payments (failed first) with a refund action, accounts, events, receipts.

Rows are written by services only, so the admin is read-only apart from its actions.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from config.outbox import task_enqueue
from payments import services
from payments.models import (
    BillingAccount,
    Payment,
    PaymentLogEntry,
    PaymentMethod,
    Receipt,
    Refund,
    WebhookEvent,
)
from payments.money import format_money, parse_major


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline[Any, Any]):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = readonly_fields = (
        "created_at",
        "amount",
        "currency",
        "reason",
        "status",
        "created_by",
        "stripe_refund_id",
    )


class LogInline(ReadOnlyInline):
    model = PaymentLogEntry
    fields = readonly_fields = (
        "created_at",
        "action",
        "message",
    )
    verbose_name_plural = "Log"


class RefundForm(forms.Form):
    amount = forms.CharField(help_text="In the payment's currency, e.g. 2.00")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    # One refund per form shown: a double submit issues it once.
    request_id = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        try:
            amount = parse_major(self.cleaned_data["amount"], self.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if amount <= 0:
            raise forms.ValidationError("Enter an amount above 0.")
        return amount


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "reference",
        "kind",
        "driver",
        "status",
        "authorised",
        "captured",
        "refunded",
        "created_at",
    ]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["reference", "stripe_payment_intent_id", "account__user__email"]
    list_select_related = ["account__user"]
    inlines = [RefundInline, LogInline]
    actions = ["refund"]
    readonly_fields = [f.name for f in Payment._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        # Annotated before ordering: the default get_queryset orders first and would not find it.
        return (
            Payment.objects.annotate(
                failed_last=Case(
                    When(status=Payment.Status.FAILED, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                ),
                # A failed refund gave nothing back.
                refunded_total=Sum(
                    "refunds__amount", filter=~Q(refunds__status=Refund.Status.FAILED)
                ),
            )
            .select_related("account__user")
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        return ("failed_last", "-created_at", "-id")  # failed payments first

    @admin.display(description="Driver", ordering="account__user__email")
    def driver(self, payment: Payment) -> str:
        return str(payment.account.user.email or payment.account.user)

    @admin.display(description="Authorised")
    def authorised(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)

    @admin.display(description="Captured")
    def captured(self, payment: Payment) -> str:
        return format_money(payment.amount_captured, payment.currency)

    @admin.display(description="Refunded")
    def refunded(self, payment: Any) -> str:
        return format_money(payment.refunded_total or 0, payment.currency)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        # Seeing payments is not enough to give money back.
        return request.user.has_perm("payments.add_refund")

    @admin.action(description="Refund the selected payment…", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one payment to refund.", messages.WARNING)
            return None
        payment = queryset.get()
        if "apply" in request.POST:
            form = RefundForm(request.POST, currency=payment.currency)
            if form.is_valid():
                try:
                    refund = services.refund_issue(
                        payment=payment,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        created_by=request.user if request.user.is_authenticated else None,
                        request_id=form.cleaned_data["request_id"],
                    )
                except services.PaymentError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(
                        request,
                        f"Refunded {format_money(refund.amount, refund.currency)} on "
                        f"{payment.reference}.",
                        messages.SUCCESS,
                    )
                    return None
        else:
            form = RefundForm(initial={"request_id": uuid.uuid4().hex}, currency=payment.currency)
        return TemplateResponse(
            request,
            "admin/payments/payment/refund.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund {payment.reference}",
                "opts": self.model._meta,
                "payment": payment,
                "form": form,
                "refundable": format_money(services.refundable_amount(payment), payment.currency),
                "captured": format_money(payment.amount_captured, payment.currency),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


class PaymentMethodInline(ReadOnlyInline):
    model = PaymentMethod
    fields = readonly_fields = (
        "brand",
        "last4",
        "exp_month",
        "exp_year",
        "stripe_payment_method_id",
        "created_at",
    )


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "stripe_customer_id",
        "default_payment_method",
        "currency",
        "created_at",
    ]
    search_fields = ["user__email", "stripe_customer_id"]
    readonly_fields = [f.name for f in BillingAccount._meta.fields]
    inlines = [PaymentMethodInline]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["number", "account", "amount_label", "card_label", "issued_at"]
    search_fields = ["number", "account__user__email", "payment__reference"]
    readonly_fields = [f.name for f in Receipt._meta.fields]

    @admin.display(description="Amount")
    def amount_label(self, receipt: Receipt) -> str:
        return format_money(receipt.amount, receipt.currency)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_event_id", "type", "object_id", "status", "attempts", "received_at"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_event_id", "object_id"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["process_again"]

    @admin.action(description="Process the selected events again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        from payments.tasks import webhook_event_process

        with transaction.atomic():
            queryset.update(status=WebhookEvent.Status.RECEIVED)
            for event in queryset:
                task_enqueue(webhook_event_process, event.pk)
        self.message_user(request, f"{queryset.count()} event(s) queued.", messages.SUCCESS)
